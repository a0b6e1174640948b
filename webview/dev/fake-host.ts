// The dev harness's host: the outer page, standing where VS Code's webview host frame stands. It loads the Runboard in
// an iframe on another site (another renderer process, as a real webview is), answers it through the protocol
// exactly as the extension host must (parseWebviewMessage, answerRequest, ready → snapshot, deltas, pulled logs), and
// plays a small in-memory queue: runs wait, start, print, heartbeat, end, leave diffs; a runbook run moves through its
// steps, stops at an approval gate and leaves artifacts. For the dev harness and the benchmark only; the tests talk to
// the page directly.
import { comparisonOf, isFinal, type Run, type RunStep, type Session, type ExecutorOption } from '../../domain';
import { type ArtifactInfo, answerRequest, dispatchWebviewNotification, type DiffInfo, hostNotification, type HostMessage, type LogEvent, logBatches, parseWebviewMessage, type RequestHandlers, type WebviewNotificationHandlers } from '../protocol';

const params = new URLSearchParams(location.search);
// the Store's followRun yields batches of at most this many lines (5,000 by default; the host may ask for fewer)
const batchSize = Number(params.get('batch') ?? 5000);
const leaseMs = 30_000;
const iso = (ms = Date.now()) => new Date(ms).toISOString();

const executors: ExecutorOption[] = [
  { id: 'shell', label: 'shell', run_with: { executor: 'shell' } },
  { id: 'agent:claude', label: 'claude', run_with: { executor: 'agent', profile: 'claude' } },
  { id: 'agent:codex', label: 'codex', run_with: { executor: 'agent', profile: 'codex' } },
];

class FakeHost {
  readonly sessions: Session[] = [];
  shown: string | null = null;
  readonly runs = new Map<string, Run>();
  readonly lines = new Map<string, LogEvent[]>();
  readonly diffs = new Map<string, DiffInfo>();
  readonly steps = new Map<string, RunStep[]>();
  readonly artifacts = new Map<string, ArtifactInfo[]>();
  /** runbook runs waiting at their gate: what approving them does */
  private readonly gates = new Map<string, () => void>();
  /** runs whose log the page follows */
  readonly followers = new Set<string>();
  private readonly timers = new Map<string, ReturnType<typeof setInterval>[]>();
  private seq = 0;
  onFollow: (runId: string) => void = () => {};

  constructor(readonly send: (message: HostMessage) => void) {}

  receive(raw: unknown): void {
    const parsed = parseWebviewMessage(raw);
    if (!parsed.ok) {
      console.warn(`[harness host] dropped a message from the Runboard: ${parsed.reason}`);
      return;
    }
    const m = parsed.message;
    if (m.kind === 'request') {
      void answerRequest(this.handlers, m).then((response) => this.send(response));
      return;
    }
    dispatchWebviewNotification(this.notifications, m);
  }

  private readonly notifications: WebviewNotificationHandlers = {
    ready: ({ session_id }) => {
      this.followers.clear();
      if (session_id && this.sessions.some((s) => s.id === session_id)) this.shown = session_id;
      this.shown ??= this.sessions.find((s) => s.status === 'active')?.id ?? null;
      this.snapshot();
    },
    followLog: ({ run_id, after_seq }) => this.follow(run_id, after_seq),
    unfollowLog: ({ run_id }) => void this.followers.delete(run_id),
    problem: ({ message }) => console.warn(`[harness host] the Runboard reports: ${message}`),
  };

  snapshot(): void {
    const session = this.sessions.find((s) => s.id === this.shown) ?? null;
    const runs = [...this.runs.values()].filter((r) => r.session_id === session?.id);
    this.send(
      hostNotification('snapshot', {
        sessions: this.sessions,
        session,
        runs,
        diffs: runs.flatMap((r) => this.diffs.get(r.id) ?? []),
        steps: runs.flatMap((r) => this.steps.get(r.id) ?? []),
        artifacts: runs.flatMap((r) => this.artifacts.get(r.id) ?? []),
        executors,
        now: iso(),
      }),
    );
  }

  private readonly handlers: RequestHandlers = {
    selectSession: ({ session_id }) => {
      if (!this.sessions.some((s) => s.id === session_id)) throw Object.assign(new Error('no such session'), { code: 'not_found' });
      this.shown = session_id;
      this.followers.clear();
      setTimeout(() => this.snapshot());
      return {};
    },
    createSession: ({ title, intent }) => {
      const s = this.addSession(title, intent);
      this.shown = s.id;
      this.followers.clear();
      setTimeout(() => this.snapshot());
      return { session_id: s.id };
    },
    run: (p) => {
      const run = this.addRun(p.session_id, p.lane, p.intent, { executor: p.run_with.executor, spec: p.run_with.executor === 'agent' ? { profile: p.run_with.profile } : {}, priority: p.priority });
      setTimeout(() => this.schedule(), 300);
      return { run_id: run.id };
    },
    cancelRun: ({ run_id }) => {
      const run = this.get(run_id);
      if (isFinal(run.status)) return { outcome: 'already_finished' };
      if (run.status === 'queued') {
        this.update(run, { status: 'canceled', finished_at: iso() });
        return { outcome: 'canceled' };
      }
      this.update(run, { cancel_requested_at: iso() });
      setTimeout(() => this.finish(run_id, 'canceled', null, 'canceled by the user'), 700);
      return { outcome: 'cancel_requested' };
    },
    retryRun: ({ run_id }) => {
      const old = this.get(run_id);
      const run = this.addRun(old.session_id, old.lane, old.intent, { executor: old.executor, spec: old.spec, priority: old.priority, retry_of: old.id });
      setTimeout(() => this.schedule(), 300);
      return { run_id: run.id };
    },
    openDiff: () => ({}),
    applyDiff: () => ({ applied: true }),
    openLog: () => ({}),
    copyText: () => ({}),
    exportLog: ({ run_id, format, step }) => {
      const lines = (this.lines.get(run_id) ?? []).filter((l) => step === null || l.step === step).length;
      return { saved: true, lines, name: `${this.get(run_id).lane}-${run_id.slice(0, 8)}.${format === 'json' ? 'json' : 'log'}` };
    },
    openArtifact: () => ({}),
    approveRun: ({ run_id }) => {
      const go = this.gates.get(run_id);
      if (!go) throw Object.assign(new Error('the run is not waiting for approval'), { code: 'invalid_state' });
      this.gates.delete(run_id);
      go();
      return {};
    },
    rejectRun: ({ run_id }) => {
      if (!this.gates.delete(run_id)) throw Object.assign(new Error('the run is not waiting for approval'), { code: 'invalid_state' });
      this.moveSteps(run_id, (s) => (s.status === 'waiting' ? { status: 'canceled', finished_at: iso() } : s.status === 'queued' ? { status: 'skipped' } : {}));
      this.finish(run_id, 'canceled', null, 'rejected: not now');
      return { rejected: true };
    },
    runRunbook: ({ session_id, lane }) => {
      this.runbook(this.addRun(session_id, lane, 'runbook deploy-web v3', { executor: 'runbook', spec: { name: 'deploy-web', version: 3 } }));
      return {};
    },
    compare: ({ group_id }) => comparisonOf(group_id, [...this.runs.values()].filter((r) => r.group_id === group_id), new Map(), new Map()),
    compareInLanes: () => ({ group_id: null }),
    landLane: () => ({ landed: false }),
    resetLane: () => ({ reset: false }),
    pickAttempt: () => ({ picked: false, message: 'the dev page lands nothing' }),
  };

  addSession(title: string, intent: string, lanes = ['A', 'B', 'C', 'D']): Session {
    const s: Session = {
      id: crypto.randomUUID(),
      title,
      intent,
      status: 'active',
      lanes,
      repo_id: '4f1c2e9b7a',
      repo_url: 'git@github.com:acme/shop.git',
      repo_path: null,
      base_ref: 'main',
      created_by: null,
      created_at: iso(),
      archived_at: null,
    };
    this.sessions.push(s);
    this.send(hostNotification('sessions', { sessions: this.sessions }));
    return s;
  }

  addRun(sessionId: string, lane: string, intent: string, more: Partial<Run> = {}): Run {
    const run: Run = {
      id: crypto.randomUUID(),
      seq: ++this.seq,
      session_id: sessionId,
      lane,
      intent,
      executor: 'shell',
      spec: {},
      priority: 100,
      status: 'queued',
      attempt: 1,
      max_attempts: 3,
      claimed_by: null,
      claimed_at: null,
      heartbeat_at: null,
      lease_expires_at: null,
      cancel_requested_at: null,
      created_at: iso(),
      started_at: null,
      finished_at: null,
      exit_code: null,
      error: null,
      retry_of: null,
      run_after: null,
      approval: null,
      agent: null,
      group_id: null,
      updated_at: iso(),
      ...more,
    };
    this.runs.set(run.id, run);
    this.lines.set(run.id, []);
    this.publish(run);
    return run;
  }

  get(id: string): Run {
    const run = this.runs.get(id);
    if (!run) throw Object.assign(new Error(`no run ${id}`), { code: 'not_found' });
    return run;
  }

  update(run: Run, patch: Partial<Run>): Run {
    const next = { ...this.get(run.id), ...patch, updated_at: iso() };
    this.runs.set(run.id, next);
    this.publish(next);
    if (isFinal(next.status)) for (const t of this.timers.get(run.id) ?? []) clearInterval(t);
    return next;
  }

  private publish(run: Run): void {
    if (run.session_id === this.shown) this.send(hostNotification('runs', { session_id: run.session_id, runs: [run], now: iso() }));
  }

  /** Starts the first queued run of every idle lane (lower priority first, then oldest), as the queue would. */
  schedule(): void {
    const all = [...this.runs.values()];
    const busy = new Set(all.filter((r) => r.status === 'running').map((r) => `${r.session_id}/${r.lane}`));
    const queued = all.filter((r) => r.status === 'queued').sort((a, b) => a.priority - b.priority || a.seq - b.seq);
    for (const run of queued) {
      const key = `${run.session_id}/${run.lane}`;
      if (busy.has(key)) continue;
      busy.add(key);
      this.start(run);
    }
  }

  start(run: Run, script = demoScript(run.intent)): void {
    const started = Date.now();
    this.update(run, { status: 'running', claimed_by: 'harness-worker', claimed_at: iso(started), started_at: iso(started), heartbeat_at: iso(started), lease_expires_at: iso(started + leaseMs) });
    this.append(run.id, [{ stream: 'system', level: 'info', text: `$ ${run.intent}` }]);
    const beat = setInterval(() => {
      const current = this.get(run.id);
      if (current.status === 'running') this.update(current, { heartbeat_at: iso(), lease_expires_at: iso(Date.now() + leaseMs) });
    }, 2000);
    let step = 0;
    const print = setInterval(() => {
      if (this.get(run.id).status !== 'running') return;
      const next = script.lines(step++);
      if (next) this.append(run.id, next);
      else this.finish(run.id, script.exitCode === 0 ? 'succeeded' : 'failed', script.exitCode, script.exitCode === 0 ? null : `exit code ${script.exitCode}`, script.diff);
    }, script.everyMs);
    this.timers.set(run.id, [beat, print]);
  }

  finish(runId: string, status: 'succeeded' | 'failed' | 'canceled', exitCode: number | null, error: string | null, diff?: Omit<DiffInfo, 'run_id' | 'artifact_id'>): void {
    const run = this.get(runId);
    if (isFinal(run.status)) return;
    this.append(runId, [{ stream: 'system', level: status === 'succeeded' ? 'info' : 'warn', text: `${status}${exitCode === null ? '' : ` (exit code ${exitCode})`}` }]);
    if (diff) {
      const info = { ...diff, run_id: runId, artifact_id: crypto.randomUUID() };
      this.diffs.set(runId, info);
      if (run.session_id === this.shown) this.send(hostNotification('diff', { diff: info }));
    }
    this.update(run, { status, exit_code: exitCode, error, finished_at: iso() });
    if (this.followers.delete(runId)) this.send(hostNotification('logEnd', { run_id: runId }));
    setTimeout(() => this.schedule(), 200);
  }

  /** Plays a runbook run: steps that print and succeed (one after a retry), an approval gate, artifacts at the end. */
  runbook(run: Run): void {
    const plan: Array<[id: string, title: string, kind: RunStep['kind']]> = [
      ['checkout', 'Check out', 'shell'],
      ['build', 'Build', 'shell'],
      ['test', 'Test', 'shell'],
      ['approve', 'Approve the deploy', 'approval'],
      ['deploy', 'Deploy to staging', 'shell'],
      ['smoke', 'Smoke test', 'shell'],
    ];
    const started = Date.now();
    this.update(run, { status: 'running', claimed_by: 'harness-worker', claimed_at: iso(started), started_at: iso(started), heartbeat_at: iso(started), lease_expires_at: iso(started + leaseMs) });
    this.steps.set(run.id, plan.map(([step_id, title, kind], idx) => ({ run_id: run.id, idx, step_id, title, kind, status: 'queued', tries: 0, started_at: null, finished_at: null, exit_code: null, error: null })));
    this.publishSteps(run.id);
    const sys = (text: string, level: LogEvent['level'] = 'info', step?: string, data?: unknown): Omit<LogEvent, 'seq'> => ({ stream: 'system', level, text, step, data });
    this.append(run.id, [sys('runbook deploy-web v3: 6 step(s)', 'info', undefined, { runbook: 'deploy-web', version: 3, inputs: { env: 'staging', service: 'web' } })]);
    const outputs: Record<string, string[]> = {
      checkout: ['HEAD is now at 4f1c2e9 Cart: totals in cents'],
      build: ['\x1b[36m[build]\x1b[0m compiling 42 modules', '\x1b[36m[build]\x1b[0m bundling web', 'dist/web.js  182 kB'],
      test: ['\x1b[32m✓\x1b[0m cart (12 tests)', '\x1b[32m✓\x1b[0m checkout (9 tests)', 'warning: 1 test slower than 2 s'],
      deploy: ['uploading dist/ to staging', 'release web@4f1c2e9 is live', '::artifact link Release https://staging.example.com/releases/4f1c2e9'],
      smoke: ['GET / 200', 'GET /cart 200'],
    };
    const runStep = (i: number) => {
      const step = plan[i];
      if (!step || isFinal(this.get(run.id).status)) {
        if (!isFinal(this.get(run.id).status)) {
          this.artifacts.set(run.id, [
            { run_id: run.id, artifact_id: crypto.randomUUID(), kind: 'file', name: 'coverage.txt', mime: 'text/plain', size: 2310, created_at: iso() },
            { run_id: run.id, artifact_id: crypto.randomUUID(), kind: 'link', name: 'Release', mime: 'text/uri-list', size: 45, created_at: iso() },
            { run_id: run.id, artifact_id: crypto.randomUUID(), kind: 'manifest', name: 'manifest.json', mime: 'application/json', size: 1184, created_at: iso() },
          ]);
          this.append(run.id, [sys('runbook deploy-web succeeded: 6 of 6 step(s) succeeded', 'success')]);
          this.finish(run.id, 'succeeded', 0, null);
          if (this.get(run.id).session_id === this.shown) this.send(hostNotification('artifacts', { run_id: run.id, artifacts: this.artifacts.get(run.id)! }));
        }
        return;
      }
      const [id, title, kind] = step;
      if (kind === 'approval') {
        this.moveSteps(run.id, (s) => (s.step_id === id ? { status: 'waiting', started_at: iso(), tries: 1 } : {}));
        this.append(run.id, [sys(`step ${id}: waiting for approval — Deploy web to staging?`, 'warn', undefined, { approvers: ['release-managers'] })]);
        this.update(this.get(run.id), { status: 'waiting', lease_expires_at: null, approval: { step: i, step_id: id, message: 'Deploy web to staging?', approvers: ['release-managers'], requested_at: iso() } });
        this.gates.set(run.id, () => {
          this.moveSteps(run.id, (s) => (s.step_id === id ? { status: 'succeeded', finished_at: iso() } : {}));
          this.append(run.id, [sys(`step ${id}: approved`, 'success')]);
          this.update(this.get(run.id), { status: 'running', lease_expires_at: iso(Date.now() + leaseMs) });
          setTimeout(() => runStep(i + 1), 400);
        });
        return;
      }
      const flaky = id === 'test' && !this.steps.get(run.id)!.some((s) => s.step_id === id && s.tries > 0);
      this.moveSteps(run.id, (s) => (s.step_id === id ? { status: 'running', started_at: iso(), finished_at: null, tries: s.tries + 1 } : {}));
      this.append(run.id, [sys(`step ${id}: ${title}`, 'info', id, { tries: 1 }), sys(`$ ./ci/${id}.sh`, 'info', id)]);
      const lines = outputs[id] ?? [];
      let at = 0;
      const print = setInterval(() => {
        if (isFinal(this.get(run.id).status)) return clearInterval(print);
        if (at < lines.length) {
          this.append(run.id, [{ stream: 'stdout', level: lines[at]!.startsWith('warning') ? 'warn' : 'info', text: lines[at]!, step: id }]);
          at++;
          return;
        }
        clearInterval(print);
        if (flaky) {
          this.append(run.id, [{ stream: 'stderr', level: 'error', text: 'Error: connect ECONNREFUSED 127.0.0.1:5432', step: id }]);
          this.moveSteps(run.id, (s) => (s.step_id === id ? { status: 'failed', finished_at: iso(), exit_code: 1, error: 'exited 1' } : {}));
          this.append(run.id, [sys(`step ${id}: exited 1; trying again in 1.0 s`, 'warn')]);
          setTimeout(() => runStep(i), 1000);
          return;
        }
        this.moveSteps(run.id, (s) => (s.step_id === id ? { status: 'succeeded', finished_at: iso(), exit_code: 0 } : {}));
        this.append(run.id, [sys(`step ${id}: succeeded in 1.2 s`, 'success')]);
        runStep(i + 1);
      }, 350);
    };
    setTimeout(() => runStep(0), 300);
  }

  private moveSteps(runId: string, change: (step: RunStep) => Partial<RunStep>): void {
    this.steps.set(runId, (this.steps.get(runId) ?? []).map((s) => ({ ...s, ...change(s) })));
    this.publishSteps(runId);
  }

  private publishSteps(runId: string): void {
    if (this.get(runId).session_id === this.shown) this.send(hostNotification('steps', { run_id: runId, steps: this.steps.get(runId) ?? [] }));
  }

  append(runId: string, lines: Array<Omit<LogEvent, 'seq'>>): void {
    const log = this.lines.get(runId)!;
    const added = lines.map((l, i) => ({ ...l, seq: log.length + 1 + i }));
    log.push(...added);
    if (this.followers.has(runId)) for (const m of logBatches(runId, added)) this.send(m);
  }

  follow(runId: string, afterSeq: number): void {
    const log = this.lines.get(runId) ?? [];
    for (let i = afterSeq; i < log.length; i += batchSize) for (const m of logBatches(runId, log.slice(i, i + batchSize))) this.send(m);
    if (isFinal(this.get(runId).status)) {
      this.send(hostNotification('logEnd', { run_id: runId }));
      return;
    }
    this.followers.add(runId);
    this.onFollow(runId);
  }
}

interface Script {
  everyMs: number;
  exitCode: number;
  lines(step: number): Array<Omit<LogEvent, 'seq'>> | null;
  diff?: Omit<DiffInfo, 'run_id' | 'artifact_id'>;
}

const out = (text: string): Omit<LogEvent, 'seq'> => ({ stream: 'stdout', level: 'info', text });
const err = (text: string): Omit<LogEvent, 'seq'> => ({ stream: 'stderr', level: 'info', text });

/** What a shell intent prints in the harness: a few recognizable shapes of output. */
function demoScript(intent: string): Script {
  if (/sleep|watch|serve/.test(intent)) {
    return { everyMs: 400, exitCode: 0, lines: (i) => [out(`\x1b[2m${new Date().toISOString()}\x1b[0m tick ${i + 1}`)] };
  }
  if (/fail|lint/.test(intent)) {
    return {
      everyMs: 150,
      exitCode: 1,
      lines: (i) =>
        i < 12
          ? [i % 4 === 3 ? err(`\x1b[31merror\x1b[0m src/cart.ts:${40 + i}:7 - TS2339: Property 'total' does not exist`) : out(`checking src/module-${i}.ts`)]
          : null,
    };
  }
  if (/edit|sed|write|fix/.test(intent)) {
    return {
      everyMs: 200,
      exitCode: 0,
      lines: (i) => (i < 6 ? [out(['reading src/cart.ts', 'editing src/cart.ts', 'writing src/cart.test.ts', 'formatting', 'git status --short', ' M src/cart.ts'][i]!)] : null),
      diff: {
        name: 'lane.patch',
        size: 1834,
        base: 'main',
        files: 2,
        insertions: 24,
        deletions: 5,
        binary_files: 0,
        entries: [
          { path: 'src/cart.ts', status: 'modified', insertions: 9, deletions: 5, binary: false },
          { path: 'src/cart.test.ts', status: 'added', insertions: 15, deletions: 0, binary: false },
        ],
        omitted: false,
      },
    };
  }
  return {
    everyMs: 60,
    exitCode: 0,
    lines: (i) =>
      i < 60
        ? [
            i % 10 === 9
              ? out(`\x1b[32m✓\x1b[0m test suite ${Math.floor(i / 10) + 1} \x1b[2m(${(i * 7) % 90} ms)\x1b[0m`)
              : out(`\x1b[36m[build]\x1b[0m compiling module ${i + 1}/60 \x1b[1m${['cart', 'checkout', 'search', 'users'][i % 4]}\x1b[0m`),
          ]
        : null,
  };
}

// ---- the page -----------------------------------------------------------------------------------------------------

function benchLine(n: number): Omit<LogEvent, 'seq'> {
  // ~80 characters, a tenth colored, a twentieth on stderr: a busy build log
  if (n % 20 === 0) return err(`WARN  [worker-${n % 8}] retrying request ${n} after 12 ms: connection reset by peer`);
  if (n % 10 === 5) return out(`\x1b[32mINFO\x1b[0m  [worker-${n % 8}] \x1b[1mprocessed\x1b[0m item ${n} of the batch in ${n % 97} ms`);
  return out(`INFO  [worker-${n % 8}] processed item ${n} of the current batch in ${n % 97} ms (queue ok)`);
}

function main(): void {
  const frame = document.createElement('iframe');
  const pageUrl = new URL(params.get('page') ?? '/runboard.html', location.href);
  for (const key of ['theme', 'probe', 'lanes']) if (params.has(key)) pageUrl.searchParams.set(key, params.get(key)!);
  frame.src = pageUrl.href;
  frame.title = 'Runboard';
  document.body.appendChild(frame);

  // In VS Code the host frame posts into the webview frame: a structured clone, delivered as a 'message' event.
  const host = new FakeHost((message) => frame.contentWindow?.postMessage(message, '*'));
  const results = window as unknown as { benchStart?: number; benchResult?: unknown; harness: FakeHost };
  results.harness = host;
  window.addEventListener('message', (e: MessageEvent) => {
    if (e.source !== frame.contentWindow) return;
    const data = e.data as { benchResult?: unknown } | null;
    if (data && typeof data === 'object' && 'benchResult' in data) results.benchResult = data.benchResult;
    else host.receive(e.data);
  });

  const benchLines = Number(params.get('probe') ?? 0);
  if (benchLines > 0) {
    const lanes = Math.max(1, Number(params.get('lanes') ?? 1));
    const names = ['A', 'B', 'C', 'D'].slice(0, lanes);
    const session = host.addSession('Benchmark', `${benchLines} lines into ${lanes} lane(s)`, names);
    const runs = names.map((lane) => {
      const run = host.addRun(session.id, lane, 'cat huge.log');
      host.start(run, { everyMs: 3_600_000, exitCode: 0, lines: () => [] });
      return run;
    });
    // Once the page follows every lane's run, post every line as fast as the host can, as followRun's batches.
    const waiting = new Set(runs.map((r) => r.id));
    host.onFollow = (runId) => {
      waiting.delete(runId);
      if (waiting.size > 0) return;
      host.onFollow = () => {};
      // The lines are made first: the clock measures the page, not this harness writing them.
      const batches: HostMessage[] = [];
      for (let from = 1; from <= benchLines; from += batchSize) {
        for (const run of runs) {
          const count = Math.min(batchSize, benchLines - from + 1);
          batches.push(...logBatches(run.id, Array.from({ length: count }, (_, i) => ({ ...benchLine(from + i), seq: from + i }))));
        }
      }
      setTimeout(() => {
        results.benchStart = performance.timeOrigin + performance.now();
        for (const batch of batches) host.send(batch);
      }, 300);
    };
    return;
  }

  // The demo: a session whose lanes have a history, a live run, a queue and a diff.
  const demo = host.addSession('Checkout revamp', 'Make checkout faster and fix the flaky cart tests');
  host.addSession('Dependency upgrades', 'Bring every package to its latest minor');
  const past = host.addRun(demo.id, 'A', 'npm run lint');
  host.start(past, demoScript('lint'));
  host.addRun(demo.id, 'A', 'npm test -- --watch=false');
  host.addRun(demo.id, 'A', 'npm run e2e');
  host.start(host.addRun(demo.id, 'B', 'fix the flaky cart test', { executor: 'agent', spec: { profile: 'claude' } }), demoScript('fix'));
  host.start(host.addRun(demo.id, 'C', 'npm run serve'), demoScript('serve'));
  host.runbook(host.addRun(demo.id, 'D', 'runbook deploy-web v3', { executor: 'runbook', spec: { name: 'deploy-web', version: 3 } }));
  setTimeout(() => host.schedule(), 4000);
}

main();
