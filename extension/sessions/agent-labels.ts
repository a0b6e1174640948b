// How a coding agent's run reads in the Sessions tree: while it runs, what it is doing (its last tool call); once it
// ended, what it cost; when it stopped to ask the person something, a mark of its own. Pure, so it is tested without
// the editor; sessions-tree.ts turns it into a tree item.
import { costText, oneLine, type Run, runDuration, statusLabel } from '../../domain';

export interface AgentRunLabel {
  description: string;
  /** a codicon and a theme color, when the run needs the person: the tree's status icon otherwise */
  icon?: { id: string; color: string };
  /** lines for the tooltip, in Markdown (escaped already) */
  tooltip: string[];
}

/** The label of an agent run that has totals; undefined for any other run (the tree's own label serves). */
export function agentRunLabel(run: Run, now: number = Date.now()): AgentRunLabel | undefined {
  const agent = run.agent;
  if (run.executor !== 'agent' || !agent) return undefined;
  const duration = runDuration(run, now);
  const tooltip: string[] = [`${agent.profile} · ${tokens(agent.inputTokens)} in · ${tokens(agent.outputTokens)} out · ${tokens(agent.cachedInputTokens)} cached · ${costText(agent)}`];
  if (agent.budgetUsd !== undefined) tooltip.push(`Budget: $${agent.budgetUsd.toFixed(2)}${agent.overBudget ? ' — **over budget**, stopped' : ''}`);
  if (run.status === 'running') {
    const action = agent.currentAction ? oneLine(agent.currentAction, 60) : 'starting';
    if (agent.currentAction) tooltip.push(`Now: ${escapeMarkdown(oneLine(agent.currentAction, 200))}`);
    return { description: [statusLabel(run), action, duration].filter(Boolean).join(' · '), tooltip };
  }
  const needs = agent.needsInput;
  if (needs) {
    const what = needs.reason === 'permission' ? `denied ${needs.detail}` : needs.detail;
    tooltip.unshift(`$(bell-dot) **Needs input**: ${escapeMarkdown(oneLine(what, 300))}`);
    return {
      description: ['needs input', oneLine(what, 50), costText(agent)].join(' · '),
      icon: { id: 'bell-dot', color: 'charts.orange' },
      tooltip,
    };
  }
  const parts = [statusLabel(run), agent.overBudget ? 'over budget' : '', costText(agent), duration];
  return { description: parts.filter(Boolean).join(' · '), tooltip };
}

const tokens = (n: number) => n.toLocaleString('en-US');
const escapeMarkdown = (text: string): string => text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
