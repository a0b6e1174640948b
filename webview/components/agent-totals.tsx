// A coding-agent run's totals on its card: tokens, cost and where the figure comes from, spend against its budget,
// and what it needs from the person when it stopped to ask.
import { budgetText, costText, type RunAgent } from '../../domain';
import { Icon } from './icon';

const count = (n: number) => n.toLocaleString('en-US');

export function AgentTotals({ agent }: { agent: RunAgent }) {
  const budget = budgetText(agent);
  return (
    <div className="agent-totals">
      {agent.needsInput && <NeedsInputBadge agent={agent} />}
      <p className="agent-figures">
        <span className="agent-tokens" title="Tokens: input (of which read from the cache) and output">
          <Icon name="pulse" /> {count(agent.inputTokens)} in · {count(agent.outputTokens)} out · {count(agent.cachedInputTokens)} cached
        </span>
        <span className={`agent-cost cost-${agent.costSource}`} title={costTitle[agent.costSource]}>
          {costText(agent)}
        </span>
        {budget && (
          <span className={`agent-budget${agent.overBudget ? ' over' : ''}`} title="Spend against the run's budget">
            {budget}
          </span>
        )}
        {agent.overBudget && (
          <span className="agent-over-budget" role="status">
            <Icon name="warning" /> over budget
          </span>
        )}
      </p>
    </div>
  );
}

const costTitle: Record<RunAgent['costSource'], string> = {
  reported: 'The cost the agent reported',
  priced: 'Computed from the tokens and the price table (ocr.agents.prices): the agent reported tokens only',
  none: 'The agent reported no cost, and the price table has no price for its model',
};

function NeedsInputBadge({ agent }: { agent: RunAgent }) {
  const needs = agent.needsInput!;
  const what = needs.reason === 'permission' ? `denied ${needs.detail}` : needs.detail;
  return (
    <p className={`agent-needs-input ${needs.reason}`} role="status" aria-label="Needs input">
      <span className="agent-needs-badge">
        <Icon name={needs.reason === 'permission' ? 'shield' : 'question'} /> needs input
      </span>{' '}
      <span className="agent-needs-detail" title={what}>
        {what}
      </span>
    </p>
  );
}
