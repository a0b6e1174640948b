// Compare attempts: one intent tried in 2 to 4 lanes at once, each with its own executor or agent profile (a comparison
// group), optionally checked afterwards by a verify command run in each attempt's worktree. What a comparison is asked
// with, the row each attempt shows, and how a test runner's summary line is read, for the engine, the CLI, the
// extension and the Runboard alike.
import { z } from 'zod';
import type { DiffSummary } from './artifact';
import { ExecutorChoice, type Run, RunStatus } from './run';
import { atMostCharacters, laneName, storable } from './session';
import { plainLine } from './text';

export const minAttempts = 2;
export const maxAttempts = 4;

const intentText = (what: string) =>
  z
    .string()
    .trim()
    .min(1, `${what} cannot be empty`)
    .superRefine(atMostCharacters(100_000, `${what} is at most 100,000 characters`))
    .superRefine(storable);

export const ComparisonAttempt = z.object({
  lane: laneName,
  run_with: ExecutorChoice.default({ executor: 'shell' }),
  /** this attempt's own intent (a shell attempt's command, say); the comparison's intent when absent */
  intent: intentText('an attempt\'s intent').optional(),
});
export type ComparisonAttempt = z.input<typeof ComparisonAttempt>;

/** What "Compare in Lanes…", `ocr compare new` and the queue_comparison tool send to queueComparison. */
export const ComparisonRequest = z
  .object({
    session_id: z.string().uuid('give the id of a session'),
    intent: intentText('the intent'),
    attempts: z
      .array(ComparisonAttempt)
      .min(minAttempts, `a comparison needs at least ${minAttempts} attempts, each in its own lane`)
      .max(maxAttempts, `a comparison has at most ${maxAttempts} attempts`),
    /** a shell command run in each attempt's worktree after it, such as `npm test`: the Compare view's checks */
    verify: z
      .string()
      .trim()
      .min(1, 'give a command, such as "npm test", or leave verify out')
      .superRefine(atMostCharacters(10_000, 'a verify command is at most 10,000 characters'))
      .superRefine(storable)
      .optional(),
    timeout_seconds: z.number().int().min(1).max(30 * 24 * 3600).optional(),
    /** each agent attempt stops once it has cost this much, in US dollars */
    max_cost_usd: z.number().positive('an amount in US dollars above 0, such as 2.50').max(100_000).optional(),
  })
  .superRefine((request, ctx) => {
    const seen = new Set<string>();
    request.attempts.forEach((attempt, i) => {
      if (seen.has(attempt.lane)) {
        ctx.addIssue({ code: 'custom', path: ['attempts', i, 'lane'], message: `lane ${attempt.lane} has two attempts: give each attempt its own lane` });
      }
      seen.add(attempt.lane);
    });
  });
export type ComparisonRequest = z.input<typeof ComparisonRequest>;

/** A run of a group that checks an attempt rather than being one. */
export const isVerifyRun = (run: Pick<Run, 'spec'>): boolean => run.spec.role === 'verify';

/** "shell", or the agent profile ("claude"), or "agent" for the worker's default agent. */
export function executorLabel(run: Pick<Run, 'executor' | 'spec'>): string {
  if (run.executor !== 'agent') return run.executor;
  return typeof run.spec.profile === 'string' ? run.spec.profile : 'agent';
}

/** Test counts read off a runner's summary line(s); `line` is the summary as printed, without colours. */
export const CheckCounts = z.object({ passed: z.number().int(), failed: z.number().int(), skipped: z.number().int(), line: z.string() });
export type CheckCounts = z.infer<typeof CheckCounts>;

type Counts = Omit<CheckCounts, 'line'>;
const count = (text: string | undefined): number => (text ? Number.parseInt(text, 10) : 0);

/**
 * Summary lines of common test runners. Each reads one line into counts; the last recognised summary of the log wins
 * (a runner prints per-file lines first and the totals last). Mocha and TAP print their counts a line each: those add up.
 */
const oneLineSummaries: Array<(line: string) => Counts | undefined> = [
  // vitest: " Tests  2 failed | 5 passed | 1 skipped (8)" (not its "Test Files" line)
  (line) => {
    const m = /^\s*Tests\s{2,}(.+)\(\d+\)\s*$/.exec(line);
    if (!m) return undefined;
    return { passed: count(/(\d+) passed/.exec(m[1]!)?.[1]), failed: count(/(\d+) failed/.exec(m[1]!)?.[1]), skipped: count(/(\d+) (?:skipped|todo)/.exec(m[1]!)?.[1]) };
  },
  // jest: "Tests:       1 failed, 3 passed, 4 total"
  (line) => {
    const m = /^\s*Tests:\s+(.*\d+ total)\s*$/.exec(line);
    if (!m) return undefined;
    return { passed: count(/(\d+) passed/.exec(m[1]!)?.[1]), failed: count(/(\d+) failed/.exec(m[1]!)?.[1]), skipped: count(/(\d+) (?:skipped|todo)/.exec(m[1]!)?.[1]) };
  },
  // pytest: "===== 3 passed, 1 failed, 2 skipped in 0.12s ====="
  (line) => {
    const m = /^=+ (.*\b(?:passed|failed|error|errors)\b.*) in [\d.]+s(?: \([^)]*\))? =+$/.exec(line.trim());
    if (!m) return undefined;
    const errors = count(/(\d+) errors?/.exec(m[1]!)?.[1]);
    return { passed: count(/(\d+) passed/.exec(m[1]!)?.[1]), failed: count(/(\d+) failed/.exec(m[1]!)?.[1]) + errors, skipped: count(/(\d+) skipped/.exec(m[1]!)?.[1]) };
  },
  // cargo test: "test result: FAILED. 3 passed; 1 failed; 0 ignored; ..."
  (line) => {
    const m = /^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/.exec(line.trim());
    return m ? { passed: count(m[1]), failed: count(m[2]), skipped: count(m[3]) } : undefined;
  },
];

// mocha: "  3 passing (12ms)", "  1 failing", "  2 pending"; node --test / TAP: "# pass 3", "# fail 1", "# skipped 2"
const partLines: Array<{ re: RegExp; field: keyof Counts }> = [
  { re: /^\s*(\d+) passing\b/, field: 'passed' },
  { re: /^\s*(\d+) failing\s*$/, field: 'failed' },
  { re: /^\s*(\d+) pending\s*$/, field: 'skipped' },
  { re: /^[#ℹ] pass (\d+)\s*$/, field: 'passed' },
  { re: /^[#ℹ] fail (\d+)\s*$/, field: 'failed' },
  { re: /^[#ℹ] skipped (\d+)\s*$/, field: 'skipped' },
];

/** The test counts in a verify command's output, when it prints a summary a known runner prints; else undefined. */
export function parseCheckSummary(lines: Iterable<string>): CheckCounts | undefined {
  let found: CheckCounts | undefined;
  let parts: CheckCounts | undefined;
  for (const raw of lines) {
    const line = plainLine(raw).trimEnd();
    if (line.length > 500) continue;
    for (const read of oneLineSummaries) {
      const counts = read(line);
      if (counts) {
        found = { ...counts, line: line.trim() };
        parts = undefined;
        break;
      }
    }
    for (const { re, field } of partLines) {
      const m = re.exec(line);
      if (!m) continue;
      if (!parts || (field === 'passed' && parts.passed > 0)) parts = { passed: 0, failed: 0, skipped: 0, line: '' };
      parts[field] = count(m[1]);
      parts.line = parts.line ? `${parts.line}, ${line.trim()}` : line.trim();
      found = { ...parts };
    }
  }
  return found;
}

export const CheckState = z.enum(['none', 'waiting', 'running', 'passed', 'failed', 'canceled']);
export type CheckState = z.infer<typeof CheckState>;

export const AttemptChecks = z.object({
  state: CheckState,
  /** the verify run, when the group has one in this lane */
  runId: z.string().uuid().optional(),
  exitCode: z.number().int().nullable().optional(),
  counts: CheckCounts.optional(),
});
export type AttemptChecks = z.infer<typeof AttemptChecks>;

/** One row of the Compare view and of `ocr compare`. */
export const AttemptRow = z.object({
  lane: z.string(),
  runId: z.string().uuid(),
  intent: z.string(),
  executor: z.string(),
  status: RunStatus,
  /** from start to end, or to now while it runs; absent before it starts */
  durationMs: z.number().min(0).optional(),
  exitCode: z.number().int().nullable(),
  /** the lane's diff after the attempt, against the lane's base; absent until the attempt has stored one */
  diff: z.object({ files: z.number().int(), insertions: z.number().int(), deletions: z.number().int(), binaryFiles: z.number().int() }).optional(),
  checks: AttemptChecks,
  tokens: z.object({ input: z.number(), output: z.number() }).optional(),
  costUsd: z.number().optional(),
});
export type AttemptRow = z.infer<typeof AttemptRow>;

export const Comparison = z.object({
  groupId: z.string().uuid(),
  sessionId: z.string(),
  /** the intent the attempts share (the first attempt's, when they differ) */
  intent: z.string(),
  /** every attempt and its verify run have ended */
  done: z.boolean(),
  attempts: z.array(AttemptRow),
});
export type Comparison = z.infer<typeof Comparison>;

function checksOf(verify: Run | undefined, logLines: readonly string[] | undefined): AttemptChecks {
  if (!verify) return { state: 'none' };
  const base = { runId: verify.id, exitCode: verify.exit_code };
  const counts = logLines ? parseCheckSummary(logLines) : undefined;
  const withCounts = counts ? { ...base, counts } : base;
  switch (verify.status) {
    case 'queued':
    case 'waiting':
      return { state: 'waiting', ...base };
    case 'running':
      return { state: 'running', ...base };
    case 'canceled':
      return { state: 'canceled', ...withCounts };
    case 'succeeded':
      return { state: 'passed', ...withCounts };
    default:
      return { state: 'failed', ...withCounts };
  }
}

/**
 * The Compare table of one group's runs: an attempt per lane in lane order, with its diff's numbers (`diffs` by run id)
 * and its verify run's result (`verifyLogs`: the verify run's output lines by run id, for the test counts).
 */
export function comparisonOf(
  groupId: string,
  runs: readonly Run[],
  diffs: ReadonlyMap<string, DiffSummary>,
  verifyLogs: ReadonlyMap<string, readonly string[]>,
  now: number = Date.now(),
): Comparison {
  const ordered = [...runs].sort((a, b) => a.seq - b.seq);
  const attempts = ordered.filter((r) => !isVerifyRun(r));
  const rows = attempts
    .map((run): AttemptRow => {
      const verify = ordered.find((r) => isVerifyRun(r) && r.lane === run.lane && r.seq > run.seq);
      const started = run.started_at ? Date.parse(run.started_at) : undefined;
      const ended = run.finished_at ? Date.parse(run.finished_at) : now;
      const diff = diffs.get(run.id);
      const agent = run.agent;
      return {
        lane: run.lane,
        runId: run.id,
        intent: run.intent,
        executor: executorLabel(run),
        status: run.status,
        ...(started !== undefined ? { durationMs: Math.max(0, ended - started) } : {}),
        exitCode: run.exit_code,
        ...(diff ? { diff: { files: diff.files, insertions: diff.insertions, deletions: diff.deletions, binaryFiles: diff.binaryFiles } } : {}),
        checks: checksOf(verify, verify ? verifyLogs.get(verify.id) : undefined),
        ...(agent && (agent.inputTokens > 0 || agent.outputTokens > 0) ? { tokens: { input: agent.inputTokens, output: agent.outputTokens } } : {}),
        ...(agent?.costUsd !== undefined ? { costUsd: agent.costUsd } : {}),
      };
    })
    .sort((a, b) => a.lane.localeCompare(b.lane));
  const final = (s: RunStatus) => s === 'succeeded' || s === 'failed' || s === 'canceled';
  return {
    groupId,
    sessionId: ordered[0]?.session_id ?? '',
    intent: attempts[0]?.intent ?? '',
    done: ordered.length > 0 && ordered.every((r) => final(r.status)),
    attempts: rows,
  };
}

/** "12 passed, 1 failed" / "passed" / "failed (exit 1)" / "running" / "—": the checks cell. */
export function describeChecks(checks: AttemptChecks): string {
  if (checks.state === 'none') return '—';
  if (checks.state === 'waiting' || checks.state === 'running') return checks.state;
  if (checks.counts) {
    const { passed, failed, skipped } = checks.counts;
    const parts = [`${passed} passed`, ...(failed > 0 ? [`${failed} failed`] : []), ...(skipped > 0 ? [`${skipped} skipped`] : [])];
    return checks.state === 'canceled' ? `canceled (${parts.join(', ')})` : parts.join(', ');
  }
  if (checks.state === 'failed' && checks.exitCode !== null && checks.exitCode !== undefined) return `failed (exit ${checks.exitCode})`;
  return checks.state;
}
