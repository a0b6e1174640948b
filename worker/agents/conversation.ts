// One coding-agent run's conversation as its worker reads it: every stdout line goes through the CLI's parser (the
// line is stored as it came, with the steps it held in its event's `data`), and the run's totals — the agent's session
// id, tokens, cost, the action it is on, the tools it was denied, whether it ended needing the user — are kept on the
// run (ops.runs.agent) while it goes, at most once a second, and once more at its end. A run whose cost passes its
// budget is stopped by the worker, for every CLI (claude also stops itself at its --max-budget-usd).
import { type AgentPrices, type AgentStep, formatUsd, type RunAgent, summarizeAgent } from '../../domain';
import type { AgentCommand } from '../engine/executors';
import { createAgentParser, type AgentParser } from './parse';

export interface ConversationOptions {
  /** the lane's worktree: file paths in steps are shown relative to it */
  cwd: string;
  /** the model the run asked for, for CLIs whose stream does not name it */
  model?: string;
  prices?: AgentPrices;
  /** the run's cost limit in USD */
  budgetUsd?: number;
  /** keeps the totals on the run (fenced by the run's lease) */
  record(agent: RunAgent): Promise<void>;
  /** the cost passed the budget: the run is to be stopped */
  onOverBudget(spentUsd: number, budgetUsd: number): void;
  /** a write of the totals failed; the next one tries again */
  onRecordFailed?(error: unknown): void;
  /** the least time between two writes of the totals while the run goes */
  intervalMs?: number;
}

export class AgentConversation {
  private readonly parser: AgentParser;
  private readonly steps: AgentStep[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastRecorded = '';
  private writing: Promise<void> = Promise.resolve();
  private overBudget = false;
  private ended = false;

  constructor(
    private readonly command: AgentCommand,
    private readonly options: ConversationOptions,
  ) {
    this.parser = createAgentParser(command.cli, { cwd: options.cwd, model: options.model });
  }

  /**
   * The `data` of a stdout line's event: the steps the line held (none: the line is kept as plain text). Never
   * throws: a parser that fails on a line leaves it plain.
   */
  annotate = (text: string, continued: boolean): { agent: AgentStep[] } | undefined => {
    let steps: AgentStep[];
    try {
      steps = this.parser.line(text, continued);
    } catch {
      return undefined;
    }
    if (steps.length === 0) return undefined;
    this.add(steps);
    return { agent: steps };
  };

  /** The stream ended: the steps the parser still held (to be logged as the worker's own line). */
  end(): AgentStep[] {
    let steps: AgentStep[] = [];
    try {
      steps = this.parser.end();
    } catch {
      // a parser that fails at the end leaves nothing more: every line is stored already
    }
    this.add(steps);
    return steps;
  }

  /** The run's totals now. */
  summary(): RunAgent {
    const summary = summarizeAgent(this.command.cli, this.steps, { prices: this.options.prices, model: this.options.model });
    return {
      ...summary,
      // the id we gave the CLI (claude, gemini, aider) stands until its stream names one
      sessionId: summary.sessionId ?? this.command.sessionId,
      profile: this.command.profile,
      ...(this.options.budgetUsd !== undefined ? { budgetUsd: this.options.budgetUsd } : {}),
      ...(this.overBudget ? { overBudget: true } : {}),
    };
  }

  /** Writes the final totals (after `end()`), waiting for any write in flight first. */
  async finish(): Promise<RunAgent> {
    this.ended = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const summary = this.summary();
    await this.write(summary);
    return summary;
  }

  private add(steps: readonly AgentStep[]): void {
    if (steps.length === 0) return;
    this.steps.push(...steps);
    if (this.options.budgetUsd !== undefined && !this.overBudget && steps.some((s) => s.kind === 'usage')) this.checkBudget();
    if (!this.ended) this.timer ??= setTimeout(() => this.flushSoon(), this.options.intervalMs ?? 1000);
  }

  private checkBudget(): void {
    const spent = this.summary().costUsd;
    const budget = this.options.budgetUsd!;
    if (spent === undefined || spent <= budget) return;
    this.overBudget = true;
    this.options.onOverBudget(spent, budget);
  }

  private flushSoon(): void {
    this.timer = undefined;
    if (!this.ended) void this.write(this.summary());
  }

  private write(summary: RunAgent): Promise<void> {
    const json = JSON.stringify(summary);
    this.writing = this.writing.then(async () => {
      if (json === this.lastRecorded) return;
      try {
        await this.options.record(summary);
        this.lastRecorded = json;
      } catch (e) {
        this.options.onRecordFailed?.(e);
      }
    });
    return this.writing;
  }
}

/** The line that says why a run was stopped for its cost. */
export function overBudgetMessage(spentUsd: number, budgetUsd: number): string {
  return `stopped: its cost $${formatUsd(spentUsd)} passed its budget of $${formatUsd(budgetUsd)} (spec.maxBudgetUsd)`;
}
