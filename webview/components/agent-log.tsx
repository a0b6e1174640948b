// What a lane shows under a coding-agent run's card: the run as a conversation, with the raw log one click away.
// Other runs get the raw log alone.
import { useState } from 'react';
import { agentSteps, type Run } from '../../domain';
import { useAction, useLogVersion, useRunboard } from '../hooks';
import type { LineSource } from '../run-lines';
import { AgentConversation } from './agent-conversation';
import { LogView } from './log-view';

type Mode = 'conversation' | 'raw';

export function AgentLog({ run, sessionId, lane }: { run: Run; sessionId: string; lane: string }) {
  const runboard = useRunboard();
  const version = useLogVersion(run.id);
  const log = runboard.logs.get(run.id);
  const [picked, setPicked] = useState<Mode | null>(null);
  const open = useAction();
  // An agent whose profile gives no structured output prints plain lines only: its raw log is all there is, while it
  // runs too. A structured CLI's first event is among its first lines (the run's totals follow within a second).
  const mode: Mode = picked ?? (run.agent || hasSteps(log) ? 'conversation' : 'raw');

  return (
    <div className="agent-log" data-mode={mode}>
      <div className="agent-log-modes" role="group" aria-label="Show the run as">
        {(['conversation', 'raw'] as const).map((m) => (
          <button key={m} type="button" className={`agent-log-mode${m === mode ? ' active' : ''}`} aria-pressed={m === mode} onClick={() => setPicked(m)}>
            {m === 'conversation' ? 'Conversation' : 'Raw'}
          </button>
        ))}
      </div>
      {open.error && (
        <p className="error" role="alert">
          Could not open the diff: {open.error}
        </p>
      )}
      {mode === 'conversation' ? (
        log ? (
          <AgentConversation
            lines={log}
            version={version}
            {...(run.agent ? { summary: run.agent } : {})}
            onOpenFile={(path) => void open.run(() => runboard.openDiff(run.id, path))}
          />
        ) : (
          <p className="agent-empty">No agent steps yet.</p>
        )
      ) : (
        <LogView run={run} sessionId={sessionId} lane={lane} />
      )}
    </div>
  );
}

/** Whether the first lines of the log hold an agent's steps (only the first: a plain log may be long). */
function hasSteps(lines: LineSource | undefined): boolean {
  if (!lines) return false;
  for (let i = 0; i < Math.min(lines.length, 200); i++) if (agentSteps(lines.dataAt(i)).length > 0) return true;
  return false;
}
