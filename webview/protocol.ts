/**
 * The Runboard's protocol: every message between the extension host and the Runboard webview, as zod schemas. Both
 * sides import this module; nothing here touches the DOM or `vscode`.
 *
 * Wire shape. Webview → host: `{kind:'request', id, method, params}` and `{kind:'notify', method, params}`.
 * Host → webview: `{kind:'response', id, ok:true, result}` / `{kind:'response', id, ok:false, error:{code, message}}`
 * and `{kind:'notify', method, params}`. Rows keep the database's field names, so Store rows can be posted as they are
 * (unknown fields are dropped by the receiver), except artifacts: post `diffInfo(artifact)` and `artifactInfo(artifact)`,
 * never an artifact's content.
 *
 * How the host panel must behave:
 * 1. Post nothing before the webview's `ready` (a page that is still loading drops it). `ready` names the session the
 *    page showed before a reload, or null. On `ready`, first stop every log follower of the previous page.
 * 2. Answer `ready` with `snapshot`: every session (archived too: the page filters), the session to show (the one named
 *    in `ready` if it still exists, else the one the panel was opened for, else the newest active one, else null), all
 *    of its runs, the diff summaries of those runs, the steps of its runbook runs (store.listSteps), the artifact lists
 *    of its finished runbook runs, the executors a run may use, and the host's clock. Post a fresh `snapshot` whenever
 *    the panel becomes visible again (a hidden webview misses messages) and after `selectSession` or `createSession`
 *    switched the session. A snapshot replaces everything the page knew.
 * 3. Then deltas, for the session of the last snapshot only: `runs` on every Store.watchSession callback (the changed
 *    runs or all of them: the page keeps the newer `updated_at`), `session` when that session's row changes,
 *    `sessions` (the whole list) on Store.onSessionsChange, `diff` once a run's diff artifact exists (look when a run
 *    becomes final). `steps` (all the steps of one runbook run) whenever they differ from what was posted: read them
 *    when a runbook run changes, and every 2 s while one is running (a step moves without changing its run's row).
 *    `artifacts` (the list of one runbook run) once it has finished.
 * 4. Logs are pulled by the page. `followLog {run_id, after_seq}`: stop any follower of that run, then for each batch of
 *    `store.followRun(run_id, after_seq)` post each of `logBatches(run_id, batch)`; when the iterator ends, `logEnd`.
 *    `unfollowLog` stops it. The page drops lines it already has and asks again from its last line after a gap.
 * 5. Answer every `request` exactly once, with its id: `answerRequest(handlers, message)` does that and turns a thrown
 *    error into `{ok:false, error:{code, message}}` (an error's string `code`, else 'failed').
 * 6. Check every message from the page with `parseWebviewMessage`; log the reason and drop what fails. The page does
 *    the same with `parseHostMessage`, and reports what it dropped with a `problem` notification.
 * 7. Serve the page with `runboardHtml` of page-html.ts (strict CSP, fresh nonce per load); `localResourceRoots`: the
 *    `dist` folder.
 *    After a window reload VS Code hands the panel to a WebviewPanelSerializer: give it the same options and HTML and
 *    wait for `ready` again. The page restores itself (session, picked runs, scroll positions) from its getState.
 */
import * as z from 'zod';
import { LanePorts } from '../domain';
import { ArtifactKind, CancelOutcome, Comparison, DiffFile, DiffSummary, type EventLevel, type EventStream, ExecutorOption, isContinued, laneName, LaneRunRequest, NewSession, Run, RunStep, Session, SessionConflicts } from '../domain';

export const protocolVersion = 1;

// ---- rows ---------------------------------------------------------------------------------------------------------

// Rows are the domain's (domain/): the database's field names, posted as the store returns them.
const id = z.string().min(1);
const timestamp = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO timestamp');

/** One run_events row as the host gets it from Store.followRun (other fields are ignored). */
export interface LogEvent {
  seq: number;
  stream: EventStream;
  level: EventLevel;
  text: string;
  /** the runbook step the line belongs to */
  step?: string | null;
  data?: unknown;
}

const streamLetters: Record<EventStream, string> = { stdout: 'o', stderr: 'e', system: 's' };
const levelLetters: Record<EventLevel, string> = { debug: 'd', info: 'i', warn: 'w', error: 'e', success: 'k' };

/** `step <id>: …`: how a runbook run's worker names, in its own lines, the step a line is about. */
const stepLine = /^step ([a-z][a-z0-9_-]{0,39}): /;

/**
 * The runbook step a line belongs to: its `step`, or for a line of the worker's own that has none (a step's end, a
 * skip, a gate), the step its text names.
 */
export function stepOf(event: Pick<LogEvent, 'stream' | 'text' | 'step'>): string | null {
  if (event.step) return event.step;
  if (event.stream !== 'system') return null;
  return stepLine.exec(event.text)?.[1] ?? null;
}

/**
 * Consecutive lines of one run, column by column. A structured clone of 5,000 line objects costs the page tens of
 * milliseconds to read; the same lines as one array of strings and two letter strings cost a few. Build it with
 * `logBatches`. The two columns most lines lack are left out when no line has them: `steps` (the lines of a runbook
 * run come in long runs of one step, so it is runs of [count, step]) and `data` (only the lines that carry some).
 */
export const LogBatch = z
  .object({
    run_id: id,
    /** the seq of text[0]; the other lines follow one by one */
    first_seq: z.number().int().min(1),
    text: z.array(z.string()),
    /** one letter per line: o stdout, e stderr, s system */
    stream: z.string().regex(/^[oes]*$/, 'one of o, e, s per line'),
    /** one letter per line: d debug, i info, w warn, e error, k success */
    level: z.string().regex(/^[diwek]*$/, 'one of d, i, w, e, k per line'),
    /** the step of each line, as runs: [how many lines in a row, their step (null: none)]; absent when no line has one */
    steps: z.array(z.tuple([z.number().int().min(1), z.string().min(1).nullable()])).optional(),
    /** [index in text, the event's data] for each line that has data, in order; absent when none has */
    data: z.array(z.tuple([z.number().int().min(0), z.unknown()])).optional(),
  })
  .refine((b) => b.stream.length === b.text.length && b.level.length === b.text.length, {
    message: 'stream and level need one letter per line of text',
    path: ['stream'],
  })
  .refine((b) => b.steps === undefined || b.steps.reduce((sum, [count]) => sum + count, 0) === b.text.length, {
    message: 'the runs of steps need to add up to the lines of text',
    path: ['steps'],
  })
  .refine((b) => b.data === undefined || b.data.every(([i], k) => i < b.text.length && (k === 0 || i > b.data![k - 1]![0])), {
    message: 'data needs increasing indexes of lines of text',
    path: ['data'],
  });
export type LogBatch = z.infer<typeof LogBatch>;

/** What the page shows of a diff artifact: its summary (the artifact's meta), never the patch. */
export const DiffInfo = z.object({
  run_id: id,
  artifact_id: id,
  name: z.string(),
  size: z.number().int().min(0),
  base: z.string(),
  files: z.number().int().min(0),
  insertions: z.number().int().min(0),
  deletions: z.number().int().min(0),
  binary_files: z.number().int().min(0),
  entries: z.array(DiffFile),
  /** the patch was too large to keep; only the summary exists */
  omitted: z.boolean(),
});
export type DiffInfo = z.infer<typeof DiffInfo>;

/** What the page shows of any artifact of a run: what it is and how large, never its content. */
export const ArtifactInfo = z.object({
  run_id: id,
  artifact_id: id,
  kind: ArtifactKind,
  name: z.string(),
  mime: z.string(),
  /** bytes of the file it stands for (a binary file is stored larger, as base64) */
  size: z.number().int().min(0),
  created_at: timestamp,
});
export type ArtifactInfo = z.infer<typeof ArtifactInfo>;

export const Snapshot = z.object({
  sessions: z.array(Session),
  session: Session.nullable(),
  /** every run of `session`, in any order */
  runs: z.array(Run),
  diffs: z.array(DiffInfo),
  /** the steps of every runbook run among `runs` that has planned them, each row naming its run */
  steps: z.array(RunStep),
  /** the artifacts of every finished runbook run among `runs` */
  artifacts: z.array(ArtifactInfo),
  executors: z.array(ExecutorOption).min(1),
  /** the host's clock when it posted this, to judge leases against (the page's clock may differ) */
  now: timestamp,
  /** the port range of each lane of `session` that has one (leased when its first run starts) */
  ports: z.array(LanePorts).optional(),
});
export type Snapshot = z.infer<typeof Snapshot>;

// ---- descriptors --------------------------------------------------------------------------------------------------

/** Notifications from the webview. */
export const webviewNotifications = {
  ready: z.object({ protocol: z.literal(protocolVersion), session_id: id.nullable() }),
  followLog: z.object({ run_id: id, after_seq: z.number().int().min(0) }),
  unfollowLog: z.object({ run_id: id }),
  /** something the page dropped or failed at, for the host's log */
  problem: z.object({ message: z.string() }),
} as const;

/** Notifications from the host. */
export const hostNotifications = {
  snapshot: Snapshot,
  sessions: z.object({ sessions: z.array(Session) }),
  session: z.object({ session: Session }),
  runs: z.object({ session_id: id, runs: z.array(Run), now: timestamp.optional() }),
  diff: z.object({ diff: DiffInfo }),
  /** every step of one runbook run, as they are now */
  steps: z.object({ run_id: id, steps: z.array(RunStep) }),
  /** every artifact of one finished runbook run */
  artifacts: z.object({ run_id: id, artifacts: z.array(ArtifactInfo) }),
  log: LogBatch,
  logEnd: z.object({ run_id: id }),
  /** the port ranges of the shown session's lanes, whenever they change (a lane's first run leased one; archived: none) */
  ports: z.object({ session_id: id, ports: z.array(LanePorts) }),
  /** the conflict radar's last look at the shown session: lane pairs (and lanes with the user's branch) that conflict */
  conflicts: SessionConflicts,
  /** show this comparison group of the shown session in the Compare view (it was just queued from the palette) */
  showCompare: z.object({ session_id: id, group_id: id }),
} as const;

const empty = z.object({});

/** Requests from the webview, each answered by one response. */
export const requests = {
  /** show this session; the host answers, then posts its snapshot */
  selectSession: { params: z.object({ session_id: id }), result: empty },
  /** create a session on the workspace's repository and show it (a snapshot follows) */
  createSession: {
    params: NewSession.pick({ title: true, intent: true }),
    result: z.object({ session_id: id }),
  },
  /** queue a run in a lane: the same request the palette, the tree and the CLI make */
  run: { params: LaneRunRequest, result: z.object({ run_id: id }) },
  cancelRun: {
    params: z.object({ run_id: id }),
    result: z.object({ outcome: CancelOutcome }),
  },
  retryRun: { params: z.object({ run_id: id }), result: z.object({ run_id: id }) },
  /**
   * VS Code's diff editor on the run's patch; with `path` (relative to the lane's worktree, as an agent's file edit
   * names it), the diff of that one file
   */
  openDiff: { params: z.object({ run_id: id, path: z.string().min(1).max(4096).optional() }), result: empty },
  /** apply the run's patch to the workspace; `applied` is false when the user declined */
  applyDiff: { params: z.object({ run_id: id }), result: z.object({ applied: z.boolean() }) },
  /** the run's whole log as a read-only document */
  openLog: { params: z.object({ run_id: id }), result: empty },
  /** the clipboard of the editor (the page's own needs a secure context and focus) */
  copyText: { params: z.object({ text: z.string() }), result: empty },
  /**
   * the run's whole log from the database (the step's lines only, when one is named) to a file the person picks in a
   * save dialog, as text or as JSON; `saved` is false when they canceled, `name` the file's name
   */
  exportLog: {
    params: z.object({ run_id: id, format: z.enum(['text', 'json']), step: z.string().min(1).nullable().default(null) }),
    result: z.object({ saved: z.boolean(), lines: z.number().int().min(0), name: z.string().nullable() }),
  },
  /** an artifact of the run: a file, a log or the manifest in a read-only editor, a link in the browser, a diff in the diff editor */
  openArtifact: { params: z.object({ run_id: id, artifact_id: id }), result: empty },
  /** lets a run waiting at an approval gate go on */
  approveRun: { params: z.object({ run_id: id }), result: empty },
  /** ends a waiting run; the editor asks the person why first, and `rejected` is false when they backed out */
  rejectRun: { params: z.object({ run_id: id }), result: z.object({ rejected: z.boolean() }) },
  /** "Run Runbook…" in a lane: the editor asks which runbook and its inputs (the command ocr.runRunbook) */
  runRunbook: { params: z.object({ session_id: id, lane: laneName }), result: empty },
  /**
   * "Land Lane…" in a lane: the editor asks how (squash, rebase, pull request), for the message, and to confirm the
   * branch that changes (the command ocr.landLane); `landed` is false when the person backed out
   */
  landLane: { params: z.object({ session_id: id, lane: laneName }), result: z.object({ landed: z.boolean() }) },
  /** "Reset Lane": the lane starts again from the user's branch (the command ocr.resetLane); `reset` is false when the person backed out */
  resetLane: { params: z.object({ session_id: id, lane: laneName }), result: z.object({ reset: z.boolean() }) },
  /** the Compare table of a comparison group, as `ocr compare` shows it */
  compare: { params: z.object({ group_id: id }), result: Comparison },
  /** "Compare in Lanes…": the editor asks for the intent, the lanes and how each runs; null when the person backed out */
  compareInLanes: { params: z.object({ session_id: id }), result: z.object({ group_id: id.nullable() }) },
  /** "Pick" on an attempt: land it (the editor asks how, naming the branch) and archive the other attempts' branches */
  pickAttempt: { params: z.object({ run_id: id }), result: z.object({ picked: z.boolean(), message: z.string().nullable() }) },
} as const;

export type RequestMethod = keyof typeof requests;
export type RequestParams<M extends RequestMethod> = z.input<(typeof requests)[M]['params']>;
export type RequestResult<M extends RequestMethod> = z.infer<(typeof requests)[M]['result']>;
export type WebviewNotificationMethod = keyof typeof webviewNotifications;
export type WebviewNotificationParams<M extends WebviewNotificationMethod> = z.infer<(typeof webviewNotifications)[M]>;
export type HostNotificationMethod = keyof typeof hostNotifications;
export type HostNotificationParams<M extends HostNotificationMethod> = z.infer<(typeof hostNotifications)[M]>;

export type RequestMessage = {
  [M in RequestMethod]: { kind: 'request'; id: number; method: M; params: z.infer<(typeof requests)[M]['params']> };
}[RequestMethod];
export type WebviewNotification = {
  [M in WebviewNotificationMethod]: { kind: 'notify'; method: M; params: WebviewNotificationParams<M> };
}[WebviewNotificationMethod];
export type WebviewMessage = RequestMessage | WebviewNotification;

export const ResponseError = z.object({ code: z.string().min(1), message: z.string() });
export type ResponseError = z.infer<typeof ResponseError>;
export type ResponseMessage =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: ResponseError };
export type HostNotification = {
  [M in HostNotificationMethod]: { kind: 'notify'; method: M; params: HostNotificationParams<M> };
}[HostNotificationMethod];
export type HostMessage = ResponseMessage | HostNotification;

// ---- parsing ------------------------------------------------------------------------------------------------------

export type Parsed<T> = { ok: true; message: T } | { ok: false; reason: string };

const requestEnvelope = z.object({ kind: z.literal('request'), id: z.number().int().min(0), method: z.string(), params: z.unknown() });
const notifyEnvelope = z.object({ kind: z.literal('notify'), method: z.string(), params: z.unknown() });
const responseEnvelope = z.discriminatedUnion('ok', [
  z.object({ kind: z.literal('response'), id: z.number().int().min(0), ok: z.literal(true), result: z.unknown() }),
  z.object({ kind: z.literal('response'), id: z.number().int().min(0), ok: z.literal(false), error: ResponseError }),
]);

/** The first few problems, each naming its field: enough to find the bug, short enough for a log line. */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  const shown = error.issues.slice(0, 3).map((issue) => {
    const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    return field ? `${field}: ${issue.message}` : issue.message;
  });
  const more = error.issues.length > shown.length ? ` (and ${error.issues.length - shown.length} more)` : '';
  return shown.join('; ') + more;
}

function kindOf(raw: unknown): unknown {
  return typeof raw === 'object' && raw !== null ? (raw as { kind?: unknown }).kind : undefined;
}

function parseParams(table: Record<string, z.ZodType>, kind: string, method: string, params: unknown): Parsed<unknown> {
  const schema = Object.hasOwn(table, method) ? table[method] : undefined;
  if (!schema) return { ok: false, reason: `unknown ${kind} "${method}"` };
  const parsed = schema.safeParse(params);
  return parsed.success ? { ok: true, message: parsed.data } : { ok: false, reason: `${kind} "${method}": ${describeIssues(parsed.error, 'params')}` };
}

const requestParams: Record<string, z.ZodType> = Object.fromEntries(Object.entries(requests).map(([m, d]) => [m, d.params]));

/** For the host: a message from the webview, checked, or the reason it is refused. */
export function parseWebviewMessage(raw: unknown): Parsed<WebviewMessage> {
  const kind = kindOf(raw);
  if (kind === 'request') {
    const envelope = requestEnvelope.safeParse(raw);
    if (!envelope.success) return { ok: false, reason: `request: ${describeIssues(envelope.error)}` };
    const params = parseParams(requestParams, 'request', envelope.data.method, envelope.data.params);
    if (!params.ok) return params;
    // The table lookup above is what ties method to params; TypeScript cannot follow it through a record.
    return { ok: true, message: { ...envelope.data, params: params.message } as RequestMessage };
  }
  if (kind === 'notify') {
    const envelope = notifyEnvelope.safeParse(raw);
    if (!envelope.success) return { ok: false, reason: `notification: ${describeIssues(envelope.error)}` };
    const params = parseParams(webviewNotifications, 'notification', envelope.data.method, envelope.data.params);
    if (!params.ok) return params;
    return { ok: true, message: { ...envelope.data, params: params.message } as WebviewNotification };
  }
  return { ok: false, reason: `not a Runboard message (kind ${JSON.stringify(kind) ?? 'missing'})` };
}

/** For the webview: a message from the host, checked, or the reason it is refused. Results are checked per request. */
export function parseHostMessage(raw: unknown): Parsed<HostMessage> {
  const kind = kindOf(raw);
  if (kind === 'response') {
    const envelope = responseEnvelope.safeParse(raw);
    if (!envelope.success) return { ok: false, reason: `response: ${describeIssues(envelope.error)}` };
    return { ok: true, message: envelope.data };
  }
  if (kind === 'notify') {
    const envelope = notifyEnvelope.safeParse(raw);
    if (!envelope.success) return { ok: false, reason: `notification: ${describeIssues(envelope.error)}` };
    const params = parseParams(hostNotifications, 'notification', envelope.data.method, envelope.data.params);
    if (!params.ok) return params;
    return { ok: true, message: { ...envelope.data, params: params.message } as HostNotification };
  }
  return { ok: false, reason: `not a Runboard message (kind ${JSON.stringify(kind) ?? 'missing'})` };
}

/** Checks a response's result against what its request promises. */
export function parseResult<M extends RequestMethod>(method: M, result: unknown): Parsed<RequestResult<M>> {
  const parsed = requests[method].result.safeParse(result);
  return parsed.success
    ? { ok: true, message: parsed.data as RequestResult<M> }
    : { ok: false, reason: `result of "${method}": ${describeIssues(parsed.error, 'result')}` };
}

// ---- building messages --------------------------------------------------------------------------------------------

export function hostNotification<M extends HostNotificationMethod>(method: M, params: HostNotificationParams<M>): Extract<HostNotification, { method: M }> {
  return { kind: 'notify', method, params } as Extract<HostNotification, { method: M }>;
}

export function webviewNotification<M extends WebviewNotificationMethod>(method: M, params: WebviewNotificationParams<M>): Extract<WebviewNotification, { method: M }> {
  return { kind: 'notify', method, params } as Extract<WebviewNotification, { method: M }>;
}

export type RequestHandlers = {
  [M in RequestMethod]: (params: z.infer<(typeof requests)[M]['params']>) => Promise<RequestResult<M>> | RequestResult<M>;
};

export type WebviewNotificationHandlers = {
  [M in WebviewNotificationMethod]: (params: WebviewNotificationParams<M>) => void;
};

/** For the host: hands a checked notification from the page to its handler. */
export function dispatchWebviewNotification(handlers: WebviewNotificationHandlers, message: WebviewNotification): void {
  // parseWebviewMessage tied method to params; TypeScript cannot follow that through the table.
  (handlers[message.method] as (params: unknown) => void)(message.params);
}

/** For the host: runs the request's handler and always returns the response to post, success or failure. */
export async function answerRequest(handlers: RequestHandlers, message: RequestMessage): Promise<ResponseMessage> {
  try {
    const handler = handlers[message.method] as (params: unknown) => Promise<unknown> | unknown;
    const result = await handler(message.params);
    return { kind: 'response', id: message.id, ok: true, result };
  } catch (e) {
    return { kind: 'response', id: message.id, ok: false, error: errorOf(e) };
  }
}

function errorOf(e: unknown): ResponseError {
  const code = typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : 'failed';
  const hint = typeof e === 'object' && e !== null && typeof (e as { hint?: unknown }).hint === 'string' ? (e as { hint: string }).hint : undefined;
  const message = e instanceof Error ? e.message : String(e);
  return { code: code || 'failed', message: hint ? `${message} (${hint})` : message };
}

/**
 * The page's view of a diff artifact, from the artifact row (its meta is the worker's diff summary). Undefined for an
 * artifact that is not a diff or whose meta is not a diff summary.
 */
export function diffInfo(artifact: { id: string; run_id: string; kind: string; name: string; size: number; meta: unknown }): DiffInfo | undefined {
  if (artifact.kind !== 'diff') return undefined;
  const meta = DiffSummary.safeParse(artifact.meta);
  if (!meta.success) return undefined;
  const { base, files, insertions, deletions, binaryFiles, entries, omitted } = meta.data;
  return { run_id: artifact.run_id, artifact_id: artifact.id, name: artifact.name, size: artifact.size, base, files, insertions, deletions, binary_files: binaryFiles, entries, omitted };
}

/** The page's view of any artifact, from the artifact row: never its content. */
export function artifactInfo(artifact: { id: string; run_id: string; kind: string; name: string; mime: string; size: number; meta: unknown; created_at: string }): ArtifactInfo | undefined {
  const kind = ArtifactKind.safeParse(artifact.kind);
  if (!kind.success) return undefined;
  const meta = typeof artifact.meta === 'object' && artifact.meta !== null ? (artifact.meta as Record<string, unknown>) : {};
  const stated = meta['size'];
  const size = typeof stated === 'number' && Number.isInteger(stated) && stated >= 0 ? stated : Math.max(0, artifact.size);
  return { run_id: artifact.run_id, artifact_id: artifact.id, kind: kind.data, name: artifact.name, mime: artifact.mime, size, created_at: artifact.created_at };
}

/** For the host: the `log` notifications of a batch of followRun events (split wherever seqs are not consecutive). */
export function logBatches(runId: string, events: readonly LogEvent[]): Array<Extract<HostNotification, { method: 'log' }>> {
  const out: Array<Extract<HostNotification, { method: 'log' }>> = [];
  let start = 0;
  for (let i = 1; i <= events.length; i++) {
    if (i < events.length && events[i]!.seq === events[i - 1]!.seq + 1) continue;
    const part = events.slice(start, i);
    if (part.length > 0) out.push(hostNotification('log', batchOf(runId, part)));
    start = i;
  }
  return out;
}

function batchOf(runId: string, part: readonly LogEvent[]): LogBatch {
  const batch: LogBatch = {
    run_id: runId,
    first_seq: part[0]!.seq,
    text: part.map((e) => e.text),
    stream: part.map((e) => streamLetters[e.stream]).join(''),
    level: part.map((e) => levelLetters[e.level] ?? 'i').join(''),
  };
  let steps: Array<[number, string | null]> | undefined;
  let data: Array<[number, unknown]> | undefined;
  for (let i = 0; i < part.length; i++) {
    const event = part[i]!;
    const step = stepOf(event);
    if (step !== null && steps === undefined) steps = i > 0 ? [[i, null]] : [];
    if (steps !== undefined) {
      const last = steps[steps.length - 1];
      if (last && last[1] === step) last[0]++;
      else steps.push([1, step]);
    }
    // the worker's mark on the pieces of a line too long to store whole says nothing to a person
    if (event.data !== undefined && event.data !== null && !isContinued({ data: event.data })) (data ??= []).push([i, event.data]);
  }
  if (steps) batch.steps = steps;
  if (data) batch.data = data;
  return batch;
}
