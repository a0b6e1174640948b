import { describe, expect, it } from 'vitest';
import { Run, type RunAgent } from '../../domain';
import { agentRunLabel } from './agent-labels';

const t0 = Date.UTC(2025, 0, 1);
const at = (ms: number) => new Date(t0 + ms).toISOString();

function agentRun(status: Run['status'], agent: Partial<RunAgent> | null, executor: Run['executor'] = 'agent'): Run {
  return Run.parse({
    id: '00000000-0000-4000-8000-000000000001',
    seq: 1,
    session_id: '00000000-0000-4000-8000-000000000002',
    lane: 'B',
    intent: 'edit notes.md',
    executor,
    spec: {},
    priority: 100,
    status,
    attempt: 1,
    max_attempts: 1,
    claimed_by: status === 'running' ? 'laptop' : null,
    claimed_at: at(0),
    heartbeat_at: null,
    lease_expires_at: null,
    cancel_requested_at: null,
    created_at: at(0),
    started_at: at(0),
    finished_at: status === 'running' ? null : at(4_000),
    exit_code: status === 'running' ? null : 0,
    error: null,
    retry_of: null,
    run_after: null,
    approval: null,
    agent: agent && { cli: 'claude', profile: 'claude', inputTokens: 1200, outputTokens: 80, cachedInputTokens: 1000, costSource: 'none', denials: [], ...agent },
    updated_at: at(4_000),
  });
}

describe('an agent run in the Sessions tree', () => {
  it('says what a running agent is doing', () => {
    const label = agentRunLabel(agentRun('running', { currentAction: 'Edit: notes.md' }), t0 + 12_300);
    expect(label?.description).toBe('running · Edit: notes.md · 12.3 s');
    expect(label?.icon).toBeUndefined();
    expect(label?.tooltip).toContain('Now: Edit: notes\\.md');
    expect(agentRunLabel(agentRun('running', {}), t0 + 1_000)?.description).toBe('running · starting · 1.0 s');
  });

  it('says what a finished one cost, and where the figure comes from', () => {
    expect(agentRunLabel(agentRun('succeeded', { costUsd: 0.12, costSource: 'reported' }))?.description).toBe('succeeded · $0.12 reported · 4.0 s');
    expect(agentRunLabel(agentRun('succeeded', { costUsd: 0.034, costSource: 'priced' }))?.description).toBe('succeeded · ≈$0.03 priced · 4.0 s');
    expect(agentRunLabel(agentRun('succeeded', {}))?.description).toBe('succeeded · cost unknown · 4.0 s');
    const over = agentRunLabel(agentRun('failed', { costUsd: 2.31, costSource: 'reported', budgetUsd: 2, overBudget: true }));
    expect(over?.description).toBe('failed · over budget · $2.31 reported · 4.0 s');
    expect(over?.tooltip).toContain('Budget: $2.00 — **over budget**, stopped');
  });

  it('marks a run that needs input with its own icon, and the question or the denied tools', () => {
    const denied = agentRunLabel(agentRun('succeeded', { costUsd: 0.05, costSource: 'reported', needsInput: { reason: 'permission', detail: 'Bash, WebFetch' } }));
    expect(denied).toMatchObject({ description: 'needs input · denied Bash, WebFetch · $0.05 reported', icon: { id: 'bell-dot', color: 'charts.orange' } });
    expect(denied?.tooltip[0]).toBe('$(bell-dot) **Needs input**: denied Bash, WebFetch');
    const asked = agentRunLabel(agentRun('succeeded', { needsInput: { reason: 'question', detail: 'Should I update the tests too?' } }));
    expect(asked?.description).toBe('needs input · Should I update the tests too? · cost unknown');
  });

  it('leaves other runs to the tree’s own label', () => {
    expect(agentRunLabel(agentRun('succeeded', null))).toBeUndefined();
    expect(agentRunLabel(agentRun('succeeded', null, 'shell'))).toBeUndefined();
  });
});
