// What coding-agent runs cost, in the words the Runboard and the Sessions tree show: one run's cost with where the
// figure comes from, its spend against its budget, and the sum over the runs of a lane or a session.
import { formatUsd, type RunAgent } from './agent';

/** "$0.12 reported", "≈$0.12 priced" or "cost unknown". */
export function costText(agent: Pick<RunAgent, 'costUsd' | 'costSource'>): string {
  if (agent.costUsd === undefined || agent.costSource === 'none') return 'cost unknown';
  return agent.costSource === 'priced' ? `≈$${formatUsd(agent.costUsd)} priced` : `$${formatUsd(agent.costUsd)} reported`;
}

/** "$0.40 of $2.00", or null when the run had no budget. */
export function budgetText(agent: Pick<RunAgent, 'costUsd' | 'budgetUsd'>): string | null {
  if (agent.budgetUsd === undefined) return null;
  return `$${formatUsd(agent.costUsd ?? 0)} of $${formatUsd(agent.budgetUsd)}`;
}

export interface CostSum {
  usd: number;
  /** agent runs counted in `usd` */
  runs: number;
  /** some of the sum was computed from the price table */
  priced: boolean;
  /** agent runs whose cost nobody could say: the sum leaves them out */
  unknown: number;
}

/** The cost of the agent runs among `runs`; null when none of them is an agent run with totals. */
export function sumCost(runs: Iterable<{ agent: RunAgent | null }>): CostSum | null {
  const sum: CostSum = { usd: 0, runs: 0, priced: false, unknown: 0 };
  for (const { agent } of runs) {
    if (!agent) continue;
    if (agent.costUsd === undefined || agent.costSource === 'none') {
      sum.unknown += 1;
      continue;
    }
    sum.usd += agent.costUsd;
    sum.runs += 1;
    if (agent.costSource === 'priced') sum.priced = true;
  }
  return sum.runs + sum.unknown > 0 ? sum : null;
}

/** "$1.24" (≈ when part of it is priced), with how many runs it covers and how many it could not count, for a title. */
export function costSumText(sum: CostSum): { text: string; title: string } {
  if (sum.runs === 0) return { text: 'cost unknown', title: `${sum.unknown} agent run${sum.unknown === 1 ? '' : 's'} whose cost is unknown` };
  const text = `${sum.priced ? '≈' : ''}$${formatUsd(sum.usd)}`;
  const parts = [`${sum.runs} agent run${sum.runs === 1 ? '' : 's'} cost ${text}`];
  if (sum.priced) parts.push('part of it priced from the price table');
  if (sum.unknown > 0) parts.push(`${sum.unknown} more whose cost is unknown`);
  return { text, title: parts.join('; ') };
}
