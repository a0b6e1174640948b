// The lane worktrees on this machine, under a worktree root (root/<session short id>/<lane>): which session each
// belongs to, whether that session is still there, and removing those whose session is gone or archived.
//
// A worktree names its session by the first 8 hex digits of its id only (its folder, its branch ocr/<short id>/<lane>).
// The database tells which session that is (ops.worktree_sessions, for every session, not only the caller's). A root
// can hold the lanes of sessions of several databases (the editor's embedded one, a team's): the worker leaves a note
// beside a session's lanes saying which database it came from, and a lane of another database is never taken for one
// whose session is gone.
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { laneName, type Session } from '../../domain';
import { cleanSessionWorktrees, type CleanResult, sessionShortId } from '../engine/worktree';
import type { Store } from '../store/store';
import { laneDiskUsage, type DiskUsage } from './disk-usage';

/** Beside a session's lane folders: which session and which database they are of. */
const noteName = '.ocr-session.json';
const SessionNote = z.object({ session_id: z.string().uuid(), database: z.string() });
type SessionNote = z.infer<typeof SessionNote>;

/**
 * Notes, once, beside the session's lane folders under `root`, which database the session is of. Called by the worker
 * when it prepares a lane; a root folder the session does not have (its lanes are elsewhere) is not made.
 */
export async function noteLaneSession(root: string, session: Pick<Session, 'id'>, database: string): Promise<void> {
  const folder = path.join(root, sessionShortId(session.id));
  const file = path.join(folder, noteName);
  if (!existsSync(folder) || existsSync(file)) return;
  await writeFile(file, `${JSON.stringify({ session_id: session.id, database } satisfies SessionNote)}\n`, { flag: 'wx' }).catch(() => undefined);
}

async function readNote(folder: string): Promise<SessionNote | undefined> {
  try {
    return SessionNote.parse(JSON.parse(await readFile(path.join(folder, noteName), 'utf8')));
  } catch {
    return undefined;
  }
}

/** A lane folder under the root, as the file system tells it. */
export interface FoundLane {
  folder: string;
  shortId: string;
  lane: string;
  /** a git worktree (its branch and repository read from its .git file), or a scratch folder of a session without one */
  kind: 'worktree' | 'scratch';
  branch?: string;
  /** the repository's main checkout, when its git folder is still there */
  repoPath?: string;
  /** the note the worker left beside the session's lanes */
  note?: SessionNote;
}

const shortIdPattern = /^[0-9a-f]{8}$/;

/** Every lane folder under `root` (root/<8 hex digits>/<lane name>), sorted by session then lane. */
export async function findLaneFolders(root: string): Promise<FoundLane[]> {
  const found: FoundLane[] = [];
  for (const shortId of (await names(root)).filter((n) => shortIdPattern.test(n)).sort()) {
    const sessionFolder = path.join(root, shortId);
    if (!(await isFolder(sessionFolder))) continue;
    const note = await readNote(sessionFolder);
    for (const lane of (await names(sessionFolder)).filter((n) => laneName.safeParse(n).success).sort()) {
      const folder = path.join(sessionFolder, lane);
      if (!(await isFolder(folder))) continue;
      found.push({ folder, shortId, lane, ...(await gitOf(folder)), ...(note ? { note } : {}) });
    }
  }
  return found;
}

/** What a worktree's `.git` file says: its branch and its repository. Read from files: no git process per lane. */
async function gitOf(folder: string): Promise<Pick<FoundLane, 'kind' | 'branch' | 'repoPath'>> {
  let pointer: string;
  try {
    pointer = await readFile(path.join(folder, '.git'), 'utf8');
  } catch {
    return { kind: 'scratch' };
  }
  const gitDir = /^gitdir: (.+)$/m.exec(pointer)?.[1]?.trim();
  if (!gitDir) return { kind: 'worktree' };
  const own = path.resolve(folder, gitDir);
  const head = await readFile(path.join(own, 'HEAD'), 'utf8').catch(() => '');
  const branch = /^ref: refs\/heads\/(.+)$/m.exec(head)?.[1]?.trim();
  const common = await readFile(path.join(own, 'commondir'), 'utf8').then((c) => path.resolve(own, c.trim()), () => undefined);
  // a repository's git folder is <checkout>/.git; a bare repository is its own folder
  const repoPath = common && existsSync(common) ? (path.basename(common) === '.git' ? path.dirname(common) : common) : undefined;
  return { kind: 'worktree', ...(branch ? { branch } : {}), ...(repoPath ? { repoPath } : {}) };
}

export type LaneSessionState = 'active' | 'archived' | 'missing' | 'other-database';

export interface LaneWorktree extends FoundLane {
  /** what became of its session: active, archived, gone from this database, or of another database */
  state: LaneSessionState;
  sessionId?: string;
  /** the session's title, when the caller may read it */
  title?: string;
  /** runs of its session still running (an archived session's are being stopped) */
  running: number;
  /** with `sizes` */
  usage?: DiskUsage;
}

/** Whether `ocr worktrees prune` removes it: its session is gone from this database, or archived and stopped. */
export const isOrphan = (w: Pick<LaneWorktree, 'state' | 'running'>): boolean => w.state === 'missing' || (w.state === 'archived' && w.running === 0);

/** The lane folders under `root` with what became of their sessions in `store`'s database, and their sizes if asked. */
export async function listLaneWorktrees(store: Store, root: string, options: { sizes?: boolean } = {}): Promise<LaneWorktree[]> {
  const found = await findLaneFolders(root);
  const shortIds = [...new Set(found.map((f) => f.shortId))];
  const sessions = await store.worktreeSessions(shortIds);
  const readable = new Map((await store.listSessions({ includeArchived: true })).map((s) => [s.id, s.title]));
  const lanes: LaneWorktree[] = [];
  for (const f of found) {
    const matches = sessions.filter((s) => s.shortId === f.shortId && (!f.note || s.sessionId === f.note.session_id));
    const lane: LaneWorktree = { ...f, state: 'missing', running: 0, ...(f.note ? { sessionId: f.note.session_id } : {}) };
    if (f.note && f.note.database !== store.description) lane.state = 'other-database';
    else if (matches.length > 0) {
      // two sessions with the same first 8 digits: the lane is taken as live while either is
      const live = matches.find((m) => m.status === 'active');
      const session = live ?? matches[0]!;
      lane.state = session.status;
      lane.sessionId = matches.length === 1 ? session.sessionId : f.note?.session_id;
      lane.running = matches.reduce((sum, m) => sum + m.running, 0);
      const title = lane.sessionId ? readable.get(lane.sessionId) : undefined;
      if (title !== undefined) lane.title = title;
    }
    if (options.sizes) lane.usage = await laneDiskUsage(f.folder);
    lanes.push(lane);
  }
  return lanes;
}

export interface PruneResult {
  /** per session whose lanes were (or, with dryRun, would be) removed: what went */
  sessions: Array<{ shortId: string; sessionId?: string; state: LaneSessionState; cleaned: CleanResult }>;
  /** lanes left because their archived session's runs are still stopping */
  stopping: LaneWorktree[];
}

/**
 * Removes the lane worktrees under `root` whose session is gone from this database or archived (and stopped), with
 * their branches unless kept, through cleanSessionWorktrees: for each such session, every worktree of its repository
 * on one of its lane branches, and its folder under the root. With `dryRun`, says what it would remove and removes
 * nothing. Lanes of active sessions, and of sessions of another database, are never touched.
 */
export async function pruneLaneWorktrees(
  store: Store,
  root: string,
  options: { dryRun?: boolean; keepBranches?: boolean; lanes?: LaneWorktree[] } = {},
): Promise<PruneResult> {
  const lanes = options.lanes ?? (await listLaneWorktrees(store, root));
  const result: PruneResult = { sessions: [], stopping: lanes.filter((l) => l.state === 'archived' && l.running > 0) };
  const bySession = new Map<string, LaneWorktree[]>();
  for (const lane of lanes) bySession.set(lane.shortId, [...(bySession.get(lane.shortId) ?? []), lane]);
  for (const [shortId, ofSession] of bySession) {
    // every lane of the session must be an orphan: its folder under the root goes as a whole
    if (!ofSession.every(isOrphan)) continue;
    const first = ofSession[0]!;
    const repoPath = ofSession.find((l) => l.repoPath)?.repoPath;
    const cleaned = await cleanSessionWorktrees(
      { id: first.sessionId ?? shortId, repo_path: repoPath ?? null },
      { worktreeRoot: root, keepBranches: Boolean(options.keepBranches), dryRun: Boolean(options.dryRun) },
    );
    result.sessions.push({ shortId, ...(first.sessionId ? { sessionId: first.sessionId } : {}), state: first.state, cleaned });
  }
  return result;
}

async function names(folder: string): Promise<string[]> {
  try {
    return await readdir(folder);
  } catch {
    return [];
  }
}

async function isFolder(file: string): Promise<boolean> {
  try {
    return (await lstat(file)).isDirectory();
  } catch {
    return false;
  }
}
