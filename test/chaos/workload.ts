// The runs of a phase: short shell commands whose output makes loss and duplication checkable. Each prints
// `<run-key> <attempt> <n> <process group>` for n = 1..lines, pausing a little after each line so runs overlap the
// faults; the attempt comes from OCR_ATTEMPT (set by the worker), the process group from /proc, so the orphan check
// knows every group a run had.
import type { NewRun, Session } from '../../domain';
import type { PostgresStore } from '../../worker/store/postgres';
import type { Config, PhaseName } from './config';

export const laneNames = (n: number): string[] => Array.from({ length: n }, (_, i) => String.fromCharCode(65 + i));

export function runKey(phase: PhaseName, i: number): string {
  return `${phase[0]}${String(i).padStart(5, '0')}`;
}

export function script(key: string, lines: number, sleepMs: number): string {
  const ns = Array.from({ length: lines }, (_, i) => i + 1).join(' ');
  const pause = (sleepMs / 1000).toFixed(3);
  // field 5 of /proc/<pid>/stat is the process group (the shell's name, "sh", has no spaces)
  return `read -r _ _ _ _ g _ < /proc/$$/stat; for n in ${ns}; do echo "${key} $OCR_ATTEMPT $n $g"; sleep ${pause}; done`;
}

/** `<key> <attempt> <n> <group>`, as the script prints it. */
export function parseLine(text: string): { key: string; attempt: number; n: number; group: number } | undefined {
  const m = /^(\S+) (\d+) (\d+) (\d+)$/.exec(text);
  return m ? { key: m[1]!, attempt: Number(m[2]), n: Number(m[3]), group: Number(m[4]) } : undefined;
}

export const keyOfIntent = (intent: string): string => intent.replace(/^chaos /, '');

/**
 * The phase's sessions (no repository: scratch folders) and its runs, spread round-robin over every lane, in the
 * order they are to be queued.
 */
export async function prepareRuns(store: PostgresStore, cfg: Config, phase: PhaseName, runs: number): Promise<{ sessions: Session[]; runs: NewRun[] }> {
  const lanes = laneNames(cfg.lanesPerSession);
  const sessions: Session[] = [];
  for (let s = 0; s < cfg.sessions; s++) {
    sessions.push(await store.createSession({ title: `chaos ${phase} ${s + 1}`, intent: 'runs that print numbered lines while faults are injected', lanes }));
  }
  const all: NewRun[] = [];
  for (let i = 0; i < runs; i++) {
    const lane = i % (cfg.sessions * cfg.lanesPerSession);
    const key = runKey(phase, i);
    all.push({
      session_id: sessions[Math.floor(lane / cfg.lanesPerSession)]!.id,
      lane: lanes[lane % cfg.lanesPerSession]!,
      intent: `chaos ${key}`,
      executor: 'shell',
      spec: { command: script(key, cfg.linesPerRun, cfg.sleepMs) },
      max_attempts: cfg.maxAttempts,
    });
  }
  return { sessions, runs: all };
}

/** Queues runs in statements of at most 1,000. */
export async function queue(store: PostgresStore, runs: NewRun[]): Promise<void> {
  for (let i = 0; i < runs.length; i += 1000) await store.createRuns(runs.slice(i, i + 1000));
}
