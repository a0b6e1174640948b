// list_sessions: the sessions, their lanes and what each lane is doing, so a model can pick a lane to queue work in.
import { z } from 'zod';
import { finalStatuses, plainOneLine, type Run, type Session } from '../../domain';
import type { Store } from '../store/store';
import { defineTool, resolveId } from './tool';

/** More sessions than a model needs to choose from; the newest are listed. */
const mostSessions = 20;

const runBrief = (run: Run) => ({ run_id: run.id, intent: plainOneLine(run.intent).slice(0, 200), status: run.status });

async function sessionWithLanes(store: Store, session: Session) {
  const going = await store.listRuns({ sessionId: session.id, status: ['queued', 'running', 'waiting'] });
  const lanes = await Promise.all(
    session.lanes.map(async (lane) => {
      const mine = going.filter((r) => r.lane === lane);
      const running = mine.find((r) => r.status === 'running' || r.status === 'waiting');
      const [last] = await store.listRuns({ sessionId: session.id, lane, status: [...finalStatuses], limit: 1 });
      const queued = mine.filter((r) => r.status === 'queued').length;
      return {
        lane,
        state: running ? running.status : queued > 0 ? 'queued' : 'idle',
        running: running ? runBrief(running) : null,
        queued,
        last_finished: last ? { ...runBrief(last), exit_code: last.exit_code, finished_at: last.finished_at } : null,
      };
    }),
  );
  return {
    session_id: session.id,
    title: plainOneLine(session.title),
    ...(session.intent ? { intent: plainOneLine(session.intent).slice(0, 500) } : {}),
    status: session.status,
    repository: session.repo_url ?? session.repo_path,
    base_ref: session.base_ref,
    created_at: session.created_at,
    lanes,
  };
}

export const listSessionsTool = defineTool({
  name: 'list_sessions',
  title: 'List Sessions and Lanes',
  description:
    'Lists the sessions of Ops Control Room, newest first, with their lanes. A session is one intent on one repository; ' +
    'each lane has its own git worktree and runs one run at a time. For each lane: whether it is idle, running or has ' +
    'runs queued, the run it is running, how many are queued, and its last finished run (status, exit code). Use it to ' +
    'find a session id and an idle lane before queue_run.',
  input: z.object({
    session: z.string().optional().describe('Only this session (its id or first 8 or more characters); all active sessions when left out.'),
    include_archived: z.boolean().default(false).describe('Also list archived sessions (they take no new runs).'),
  }),
  readOnly: true,
  async run(store, i) {
    const sessions = i.session
      ? [await store.getSession(await resolveId(store, 'session', 'session', i.session))]
      : await store.listSessions({ includeArchived: i.include_archived });
    const shown = sessions.slice(0, mostSessions);
    return {
      sessions: await Promise.all(shown.map((s) => sessionWithLanes(store, s))),
      ...(sessions.length > shown.length ? { more_sessions: sessions.length - shown.length, note: `only the newest ${mostSessions} are listed; pass session to see another` } : {}),
      ...(sessions.length === 0 ? { note: 'no sessions yet: a person starts one with "OCR: New Session" in the editor or `ocr session new`' } : {}),
    };
  },
});
