// queue_run: a run in a lane of a session, through queueLaneRun like every other client.
import { z } from 'zod';
import { agentProfileName, laneName, plainOneLine, type Session, shortId, stripControlSequences } from '../../domain';
import { followUpOf, followUpText } from '../runs/follow-up';
import { queueLaneRun } from '../runs/queue-lane-run';
import { OcrError } from '../store/errors';
import type { Store } from '../store/store';
import { defineTool, markdownCode, resolveId } from './tool';

const input = z.object({
  session: z.string().describe('The session: its id from list_sessions, or the first 8 or more characters of it.'),
  lane: laneName.describe('One of the session\'s lanes, such as "A" or "B" (list_sessions names them).'),
  intent: z
    .string()
    .trim()
    .min(1, 'a run needs an intent: a shell command, or a prompt for the agent')
    .describe('What the run does: a shell command (executor "shell"), or the prompt for a coding agent (executor "agent").'),
  executor: z
    .enum(['shell', 'agent'])
    .default('shell')
    .describe('"shell" runs the intent as a command in the lane\'s git worktree; "agent" gives it as the prompt to a coding-agent CLI there.'),
  profile: agentProfileName
    .optional()
    .describe('With executor "agent": the agent profile (claude, codex, gemini, aider, or one the user configured); the worker\'s default agent when left out.'),
  follow_up: z
    .boolean()
    .optional()
    .describe(
      'With executor "agent": continue the lane\'s last agent conversation (the agent keeps what it was told and did), ' +
        'with that conversation\'s profile unless profile names another; a new conversation when the lane has none. ' +
        'Use it to answer an agent that asked a question or was denied a tool.',
    ),
});
type Input = z.output<typeof input>;

interface Target {
  session: Session;
  runWith: { executor: 'shell' } | { executor: 'agent'; profile?: string };
}

async function target(store: Store, i: Input): Promise<Target> {
  if (i.profile !== undefined && i.executor !== 'agent') {
    throw new OcrError('invalid_input', 'profile: a profile names a coding agent, so it goes with executor "agent"', 'set executor to "agent", or leave profile out');
  }
  if (i.follow_up && i.executor !== 'agent') {
    throw new OcrError('invalid_input', 'follow_up: a follow-up continues a coding agent\'s conversation, so it goes with executor "agent"', 'set executor to "agent", or leave follow_up out');
  }
  const session = await store.getSession(await resolveId(store, 'session', 'session', i.session));
  if (!session.lanes.includes(i.lane)) {
    throw new OcrError('invalid_input', `lane: "${i.lane}" is not a lane of session "${plainOneLine(session.title)}"`, `use one of its lanes: ${session.lanes.join(', ')}`);
  }
  return { session, runWith: i.executor === 'agent' ? { executor: 'agent', profile: i.profile } : { executor: 'shell' } };
}

async function how(store: Store, t: Target, i: Input): Promise<string> {
  if (t.runWith.executor === 'shell') return 'as a shell command';
  if (!i.follow_up) return `as the prompt of the ${t.runWith.profile ?? 'default'} coding agent`;
  const followUp = await followUpOf(store, t.session.id, i.lane, t.runWith.profile);
  return followUp.kind === 'continues'
    ? `as a follow-up that ${followUpText(followUp)}`
    : `as the prompt of the ${t.runWith.profile ?? 'default'} coding agent (a new conversation: ${followUp.reason})`;
}

export const queueRunTool = defineTool({
  name: 'queue_run',
  title: 'Queue a Run in a Lane',
  description:
    'Queues a run in a lane of an Ops Control Room session. Each lane works in its own git worktree of the session\'s ' +
    'repository; a worker runs the lane\'s runs one at a time, in queue order, and different lanes run in parallel, so ' +
    'independent tasks go to different lanes. With follow_up, a coding-agent run continues the lane\'s conversation. ' +
    'Answers the new run\'s id and status (queued). Follow it with get_run ' +
    '(status, exit code) and read_log (its output); cancel it with cancel_run.',
  input,
  readOnly: false,
  async confirm(store, i) {
    const t = await target(store, i);
    const intent = stripControlSequences(i.intent).trim();
    return {
      title: `Run in lane ${i.lane}?`,
      message: `Run ${markdownCode(intent)} in lane ${i.lane} of session "${plainOneLine(t.session.title)}" (${shortId(t.session.id)}), ${await how(store, t, i)}?`,
    };
  },
  async run(store, i) {
    const t = await target(store, i);
    const run = await queueLaneRun(store, { session_id: t.session.id, lane: i.lane, intent: i.intent, run_with: t.runWith, ...(i.follow_up ? { follow_up: true } : {}) });
    const ahead = (await store.listRuns({ sessionId: run.session_id, lane: run.lane, status: ['queued', 'running', 'waiting'] })).filter((r) => r.seq < run.seq);
    return {
      run_id: run.id,
      session_id: run.session_id,
      lane: run.lane,
      status: run.status,
      executor: run.executor,
      ...(t.runWith.executor === 'agent' && typeof run.spec.profile === 'string' ? { profile: run.spec.profile } : {}),
      ...(run.followUp ? { conversation: followUpText(run.followUp) } : {}),
      runs_ahead_in_lane: ahead.length,
    };
  },
});
