import { describe, expect, it } from 'vitest';
import type { Run, Session } from '../../domain';
import { progressOf } from './steps-done';

const session = (id: string, lanes: string[]) => ({ id, lanes }) as unknown as Session;
const run = (lane: string, finished: boolean, executor: Run['executor'] = 'shell') =>
  ({ lane, executor, finished_at: finished ? '2025-01-01T00:00:00Z' : null }) as unknown as Run;

describe('the walkthrough steps the sessions say are done', () => {
  it('says nothing is done without a session', () => {
    expect(progressOf([], () => [])).toEqual({ hasSession: false, firstLaneRunEnded: false, agentRunQueued: false });
  });

  it('counts only an ended run of the first lane of its session', () => {
    const sessions = [session('s1', ['X', 'Y'])];
    expect(progressOf(sessions, () => [run('Y', true), run('X', false)]).firstLaneRunEnded).toBe(false);
    expect(progressOf(sessions, () => [run('Y', true), run('X', true)]).firstLaneRunEnded).toBe(true);
    expect(progressOf([session('s2', ['A'])], () => [run('A', true)])).toEqual({ hasSession: true, firstLaneRunEnded: true, agentRunQueued: false });
  });

  it('sees a run given to an agent as soon as it is queued', () => {
    expect(progressOf([session('s1', ['A'])], () => [run('B', false, 'agent')]).agentRunQueued).toBe(true);
  });
});
