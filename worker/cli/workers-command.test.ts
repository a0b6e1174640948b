import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../store/open';
import type { Store } from '../store/store';
import { createTestDatabase } from '../store/testing';
import { runOcr } from './cli.test-support';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: Store;
const repoId = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';

beforeAll(async () => {
  db = await createTestDatabase('ocr_workers_cli');
  store = await openStore(db.url);
  await store.createSession({ title: 'shop', repo_id: repoId, repo_path: '/home/ann/src/shop', lanes: ['A'] });
  await store.registerWorker({ id: 'quick-lease', host: 'build-box', pid: 11, concurrency: 3, labels: { repos: [repoId], agents: ['claude'], lease_seconds: 5 } });
  await store.registerWorker({ id: 'default-lease', host: 'laptop', pid: 12, concurrency: 2, labels: { repos: ['deadbeefdeadbeef'] } });
  // both last heard of 10 s ago: past the first one's lease, within the default one
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  await sql.query(`update ops.workers set last_heartbeat = now() - interval '10 seconds'`);
  await sql.end();
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

const env = () => ({ OCR_DATABASE_URL: db.url });

describe('ocr workers', () => {
  it('marks a worker stale once its heartbeat is older than its own lease, and names the repositories it serves', async () => {
    const r = await runOcr(['workers'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^WORKER\s+STATE\s+HOST\s+PID\s+RUNNING\s+HEARTBEAT\s+AGENTS\s+REPOS\s+RUNS/);
    // a lease of 5 s: stale; the default lease of 30 s: not yet
    expect(lines.find((l) => l.startsWith('quick-lease'))).toMatch(/^quick-lease\s+running \(stale\)\s+build-box\s+11\s+0\/3\s+1\d s ago\s+claude\s+shop\b/);
    expect(lines.find((l) => l.startsWith('default-lease'))).toMatch(/^default-lease\s+running\s+laptop\s+12\s+0\/2\s+1\d s ago\s+-\s+deadbeef\b/);
  });

  it('--json: liveness and the lease each worker is judged by', async () => {
    const r = await runOcr(['--json', 'workers'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ id: string; liveness: string; lease_seconds: number; running: unknown[] }>;
    expect(rows.map((w) => [w.id, w.liveness, w.lease_seconds, w.running])).toEqual([
      ['default-lease', 'ok', 30, []],
      ['quick-lease', 'stale', 5, []],
    ]);
  });
});
