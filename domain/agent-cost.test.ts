import { describe, expect, it } from 'vitest';
import { budgetText, costSumText, costText, sumCost } from './agent-cost';
import type { RunAgent } from './agent';

const agent = (over: Partial<RunAgent>): RunAgent => ({ cli: 'claude', profile: 'claude', inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costSource: 'none', denials: [], ...over });

describe('what agent runs cost', () => {
  it('says where a run’s cost comes from', () => {
    expect(costText(agent({ costUsd: 0.123, costSource: 'reported' }))).toBe('$0.12 reported');
    expect(costText(agent({ costUsd: 0.004, costSource: 'priced' }))).toBe('≈$0.0040 priced');
    expect(costText(agent({}))).toBe('cost unknown');
  });

  it('shows spend against a budget only when the run had one', () => {
    expect(budgetText(agent({ costUsd: 0.4, costSource: 'reported', budgetUsd: 2 }))).toBe('$0.40 of $2.00');
    expect(budgetText(agent({ budgetUsd: 2 }))).toBe('$0.00 of $2.00');
    expect(budgetText(agent({ costUsd: 0.4, costSource: 'reported' }))).toBeNull();
  });

  it('sums the runs that have a cost and counts those that have none', () => {
    expect(sumCost([{ agent: null }])).toBeNull();
    const sum = sumCost([{ agent: agent({ costUsd: 0.1, costSource: 'reported' }) }, { agent: agent({ costUsd: 0.2, costSource: 'reported' }) }, { agent: null }, { agent: agent({}) }]);
    expect(sum).toEqual({ usd: expect.closeTo(0.3, 10), runs: 2, priced: false, unknown: 1 });
    expect(costSumText(sum!)).toEqual({ text: '$0.30', title: '2 agent runs cost $0.30; 1 more whose cost is unknown' });
    const unknownOnly = sumCost([{ agent: agent({}) }])!;
    expect(costSumText(unknownOnly)).toEqual({ text: 'cost unknown', title: '1 agent run whose cost is unknown' });
  });
});
