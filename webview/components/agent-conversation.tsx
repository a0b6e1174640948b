// A coding agent's run as a conversation: what it said, the tools it called (each opens to its output), the files it
// changed (each opens the lane's diff), what it was denied and what went wrong, and what it cost. Built from the steps
// the worker stored in the run's events (`data.agent`); the raw log stays the other view of the same lines.
import { useMemo, useState } from 'react';
import { type AgentStep, type AgentStepOf, type AgentSummary, agentSteps, formatUsd } from '../../domain';
import type { LineSource } from '../run-lines';
import { Icon } from './icon';

type Tool = { kind: 'tool'; key: string; call?: AgentStepOf<'tool_call'>; result?: AgentStepOf<'tool_result'> };

/** One entry of the conversation, in the order the agent went. */
export type ConversationItem =
  | (AgentStepOf<'init'> & { key: string })
  | (AgentStepOf<'message'> & { key: string })
  | (AgentStepOf<'thinking'> & { key: string })
  | Tool
  | (AgentStepOf<'file_edit'> & { key: string })
  | (AgentStepOf<'permission_denied'> & { key: string })
  | (AgentStepOf<'error'> & { key: string })
  | (AgentStepOf<'result'> & { key: string });

export interface Conversation {
  items: ConversationItem[];
  /** the last usage the run reported: its totals so far */
  usage?: AgentStepOf<'usage'>;
}

/** The conversation held in a run's lines: a tool's result joins its call, usage goes to the footer. */
export function conversationOf(lines: LineSource): Conversation {
  const items: ConversationItem[] = [];
  const tools = new Map<string, Tool>();
  let usage: AgentStepOf<'usage'> | undefined;
  for (let i = 0; i < lines.length; i++) {
    const data = lines.dataAt(i);
    if (data === undefined) continue;
    agentSteps(data).forEach((step: AgentStep, n) => {
      const key = `${lines.seqAt(i)}.${n}`;
      switch (step.kind) {
        case 'usage':
          usage = step;
          return;
        case 'tool_call': {
          const tool: Tool = { kind: 'tool', key, call: step };
          tools.set(step.id, tool);
          items.push(tool);
          return;
        }
        case 'tool_result': {
          const tool = tools.get(step.id);
          if (tool && !tool.result) tool.result = step;
          else items.push({ kind: 'tool', key, result: step });
          return;
        }
        default:
          items.push({ ...step, key });
      }
    });
  }
  return usage ? { items, usage } : { items };
}

export interface AgentConversationProps {
  lines: LineSource;
  /** the log's version: the conversation is rebuilt when it changes */
  version: number;
  /** the run's stored totals, once it ended: they win over the stream's last usage (they include a computed cost) */
  summary?: AgentSummary;
  /** opens the lane's diff at this file (a path relative to the worktree); file edits are plain text without it */
  onOpenFile?: (path: string) => void;
}

export function AgentConversation({ lines, version, summary, onOpenFile }: AgentConversationProps) {
  // the lines change in place: their version says when to look again
  const { items, usage } = useMemo(() => conversationOf(lines), [lines, version]);
  if (items.length === 0 && !usage) return <p className="agent-empty">No agent steps yet.</p>;
  return (
    <div className="agent-conversation" aria-label="Agent conversation">
      <ol className="agent-items">
        {items.map((item) => (
          <li key={item.key} className={`agent-item item-${item.kind}`} data-kind={item.kind}>
            <Item item={item} onOpenFile={onOpenFile} />
          </li>
        ))}
      </ol>
      <UsageLine usage={usage} summary={summary} />
    </div>
  );
}

function Item({ item, onOpenFile }: { item: ConversationItem; onOpenFile: ((path: string) => void) | undefined }) {
  switch (item.kind) {
    case 'init':
      return (
        <p className="agent-init">
          <Icon name="hubot" /> Agent session{item.model && <> · {item.model}</>}
          {item.sessionId && <span className="agent-session-id" title={item.sessionId}> · {item.sessionId.slice(0, 8)}</span>}
        </p>
      );
    case 'message':
      return (
        <div className={`agent-message ${item.role}`} aria-label={item.role === 'assistant' ? 'Agent' : 'You'}>
          {item.text}
        </div>
      );
    case 'thinking':
      return <Collapsible label="Thinking" icon="lightbulb" body={item.text} />;
    case 'tool':
      return <ToolCall tool={item} />;
    case 'file_edit':
      return <FileEdit path={item.path} change={item.change} onOpenFile={onOpenFile} />;
    case 'permission_denied':
      return (
        <p className="agent-denied" role="alert">
          <Icon name="shield" /> Denied {item.tool}: {item.message}
        </p>
      );
    case 'error':
      return (
        <p className="agent-error error" role="alert">
          <Icon name="error" /> {item.message}
        </p>
      );
    case 'result':
      return (
        <p className={`agent-result ${item.ok ? 'ok' : 'failed'}`}>
          <Icon name={item.ok ? 'pass' : 'error'} /> {item.ok ? 'Done' : `Ended with an error${item.subtype ? ` (${item.subtype})` : ''}`}
          {item.turns !== undefined && <> · {item.turns} turns</>}
          {item.durationMs !== undefined && <> · {(item.durationMs / 1000).toFixed(1)} s</>}
          {!item.ok && item.text && <span className="agent-result-text"> · {item.text}</span>}
        </p>
      );
  }
}

function ToolCall({ tool }: { tool: Tool }) {
  const { call, result } = tool;
  const name = call?.name ?? 'Tool';
  const state = !result ? 'running' : result.isError ? 'failed' : 'done';
  const icon = state === 'running' ? 'loading' : state === 'failed' ? 'error' : 'tools';
  const label = call?.summary ? `${name}: ${call.summary}` : name;
  return (
    <Collapsible
      label={label}
      icon={icon}
      spin={state === 'running'}
      className={`agent-tool ${state}`}
      status={state === 'running' ? 'running' : state === 'failed' ? 'failed' : undefined}
      body={result ? result.output || '(no output)' : 'Running…'}
    />
  );
}

function Collapsible({ label, icon, body, spin = false, className = '', status }: { label: string; icon: string; body: string; spin?: boolean; className?: string; status?: string | undefined }) {
  const [open, setOpen] = useState(false);
  return (
    <div className={`agent-collapsible ${className}`}>
      <button type="button" className="agent-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
        <Icon name={open ? 'chevron-down' : 'chevron-right'} />
        <Icon name={icon} spin={spin} />
        <span className="agent-label">{label}</span>
        {status && <span className="agent-status">{status}</span>}
      </button>
      {open && <pre className="agent-output">{body}</pre>}
    </div>
  );
}

const changeVerbs = { add: 'Added', update: 'Edited', delete: 'Deleted', rename: 'Renamed' } as const;

function FileEdit({ path, change, onOpenFile }: { path: string; change: AgentStepOf<'file_edit'>['change']; onOpenFile: ((path: string) => void) | undefined }) {
  return (
    <p className={`agent-file-edit ${change}`}>
      <Icon name={change === 'add' ? 'diff-added' : change === 'delete' ? 'diff-removed' : change === 'rename' ? 'diff-renamed' : 'diff-modified'} /> {changeVerbs[change]}{' '}
      {onOpenFile ? (
        <a
          href="#"
          title={`Open the diff of ${path}`}
          onClick={(e) => {
            e.preventDefault();
            onOpenFile(path);
          }}
        >
          {path}
        </a>
      ) : (
        <span>{path}</span>
      )}
    </p>
  );
}

function UsageLine({ usage, summary }: { usage: AgentStepOf<'usage'> | undefined; summary: AgentSummary | undefined }) {
  const totals = summary ?? usage;
  if (!totals) return null;
  const cost = summary ? summary.costUsd : usage?.costUsd;
  const priced = summary?.costSource === 'priced';
  return (
    <p className="agent-usage" aria-label="Tokens and cost">
      <Icon name="pulse" /> {totals.inputTokens.toLocaleString('en-US')} tokens in ({totals.cachedInputTokens.toLocaleString('en-US')} cached) ·{' '}
      {totals.outputTokens.toLocaleString('en-US')} out
      {cost !== undefined && (
        <>
          {' '}
          · ${formatUsd(cost)}
          {priced && <span title="computed from the price table: the agent reported tokens only"> (estimated)</span>}
        </>
      )}
    </p>
  );
}
