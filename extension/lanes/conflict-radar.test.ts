// The radar in the editor, with a real worker: runs in two lanes edit the same line, and once they have ended the radar
// says so, for that session, with the file; a lane that edits another file is not flagged.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFinal } from '../../domain';
import { eventually, makeRepo, tempDir } from '../../worker/engine/git.test-support';
import { describeRepo } from '../../worker/engine/repo';
import { Worker } from '../../worker/engine/worker';
import { PostgresStore } from '../../worker/store/postgres';
import { createTestDatabase } from '../../worker/store/testing';
import type { Log } from '../log';
import { Emitter, SessionsModel } from '../sessions/sessions-model';
import { ConflictRadar } from './conflict-radar';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
const dir = tempDir('ocr-radar-');
const log: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };

beforeAll(async () => {
  db = await createTestDatabase('ocr_radar');
  store = new PostgresStore({ url: db.url });
  await store.migrate();
});
afterAll(async () => {
  await store?.close();
  await db?.drop();
  dir.remove();
});

describe('the conflict radar in the editor', () => {
  it('flags two lanes that edited the same line once their runs ended, and says nothing of a lane that edited another file', async () => {
    const repo = path.join(dir.path, 'app');
    mkdirSync(repo);
    makeRepo(repo, { 'app.txt': 'one\ntwo\nthree\n', 'docs.txt': 'docs\n' });
    const info = await describeRepo(repo);
    const session = await store.createSession({ title: 'radar', lanes: ['A', 'B', 'C'], repo_id: info.repoId, repo_path: info.repoPath, base_ref: info.baseRef });
    const model = new SessionsModel({ store: async () => store, onDidChange: new Emitter<unknown>().event }, log, { heartbeatRefreshMs: 200 });
    await model.ensureStarted();
    const pin = model.pin(session.id, { heartbeats: false });
    const radar = new ConflictRadar(model, log, { debounceMs: 50 });
    const changes: string[] = [];
    radar.onDidChange((id) => changes.push(id));
    const worker = new Worker(store, { worktreeRoot: path.join(dir.path, 'worktrees'), repos: [repo], sessions: [session.id], concurrency: 3, pollMs: 200 });
    await worker.start();
    try {
      for (const [lane, command] of [['A', "sed -i 's/two/two from A/' app.txt"], ['B', "sed -i 's/two/two from B/' app.txt"], ['C', 'echo more >> docs.txt']]) {
        await store.createRun({ session_id: session.id, lane: lane!, intent: command! });
      }
      await eventually(async () => (await store.listRuns({ sessionId: session.id })).every((r) => isFinal(r.status)), 'the runs ended', 30_000);
      await eventually(() => (radar.conflicts(session.id)?.conflicts.length ?? 0) > 0, 'the radar looked after the runs ended', 20_000);
      expect(radar.conflicts(session.id)).toMatchObject({ session_id: session.id, user_branch: 'main', error: null, conflicts: [{ a: 'A', b: 'B', against: 'lane', files: ['app.txt'] }] });
      expect(changes).toContain(session.id);

      // a session without a repository: nothing to look at, said plainly
      const plain = await store.createSession({ title: 'no repo' });
      await model.refresh();
      await radar.look(plain.id);
      expect(radar.conflicts(plain.id)).toMatchObject({ conflicts: [], error: 'the session has no repository on this machine' });
    } finally {
      await worker.stop({ graceMs: 0 });
      radar.dispose();
      pin.dispose();
      model.dispose();
    }
  });
});
