import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFinal } from '../../domain';
import { eventually, makeRepo, tempDir } from '../engine/git.test-support';
import { describeRepo } from '../engine/repo';
import { Worker } from '../engine/worker';
import { openStore } from '../store/open';
import type { Store } from '../store/store';
import { createTestDatabase } from '../store/testing';
import { refused, runOcr } from './cli.test-support';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: Store;
const dir = tempDir('ocr-compare-cli-');

beforeAll(async () => {
  db = await createTestDatabase('ocr_compare_cli');
  store = await openStore(db.url);
});
afterAll(async () => {
  await store?.close();
  await db?.drop();
  dir.remove();
});

const env = () => ({ OCR_DATABASE_URL: db.url });

describe('ocr compare', () => {
  it('queues shell attempts with a verify command, then shows them side by side; --json gives the table', async () => {
    const repo = path.join(dir.path, 'app');
    mkdirSync(repo);
    makeRepo(repo, { 'app.txt': 'one\n' });
    const info = await describeRepo(repo);
    const session = await store.createSession({ title: 'compare', lanes: ['A', 'B'], repo_id: info.repoId, repo_path: info.repoPath, base_ref: info.baseRef });

    const q = await runOcr(
      ['compare', 'new', '--session', session.id.slice(0, 8), '--attempt', 'A=shell', '--attempt', 'B=shell:echo two >> app.txt && echo three >> app.txt', '--verify', 'grep -q three app.txt && echo "  1 passing" || (echo "  1 failing"; exit 1)', 'echo two >> app.txt'],
      { env: env() },
    );
    expect(q.code, q.stderr).toBe(0);
    const groupId = q.stdout.trim().split('\n').pop()!;
    expect(q.stdout).toBe(`queued comparison ${groupId.slice(0, 8)} in lanes A, B; see it with \`ocr compare ${groupId.slice(0, 8)}\`\n${groupId}\n`);

    const worker = new Worker(store, { worktreeRoot: path.join(dir.path, 'worktrees'), repos: [repo], sessions: [session.id], concurrency: 2, pollMs: 300 });
    await worker.start();
    try {
      await eventually(async () => (await store.listRuns({ groupId })).every((r) => isFinal(r.status)), 'the comparison ended', 30_000);
    } finally {
      await worker.stop({ graceMs: 0 });
    }

    const shown = await runOcr(['compare', groupId.slice(0, 6)], { env: env() });
    expect(shown.code, shown.stderr).toBe(0);
    const lines = shown.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`comparison ${groupId.slice(0, 8)} (done): echo two >> app.txt`);
    expect(lines[1]).toMatch(/^LANE\s+HOW\s+STATUS\s+TIME\s+EXIT\s+CHANGES\s+CHECKS\s+COST\s+RUN$/);
    expect(lines[2]).toMatch(/^A\s+shell\s+succeeded\s+\d+\.\d s\s+0\s+1 file changed, \+1 -0\s+0 passed, 1 failed\s+—\s+[0-9a-f]{8}$/);
    expect(lines[3]).toMatch(/^B\s+shell\s+succeeded\s+\d+\.\d s\s+0\s+1 file changed, \+2 -0\s+1 passed\s+—\s+[0-9a-f]{8}$/);

    const j = await runOcr(['--json', 'compare', groupId], { env: env() });
    const doc = JSON.parse(j.stdout) as { done: boolean; attempts: Array<{ lane: string; diff: unknown; checks: { state: string; counts: unknown } }> };
    expect(doc.done).toBe(true);
    expect(doc.attempts.map((a) => [a.lane, a.diff, a.checks.state, a.checks.counts])).toEqual([
      ['A', { files: 1, insertions: 1, deletions: 0, binaryFiles: 0 }, 'failed', { passed: 0, failed: 1, skipped: 0, line: '1 failing' }],
      ['B', { files: 1, insertions: 2, deletions: 0, binaryFiles: 0 }, 'passed', { passed: 1, failed: 0, skipped: 0, line: '1 passing' }],
    ]);

    const list = await runOcr(['compare', 'list', '--session', session.id], { env: env() });
    expect(list.stdout).toMatch(new RegExp(`^GROUP\\s+LANES\\s+STATE\\s+INTENT\\n${groupId.slice(0, 8)}\\s+A,B\\s+done\\s+echo two >> app.txt\\n$`));
  });

  it('refuses bad attempts with a line naming the flag', async () => {
    const session = await store.createSession({ title: 'bad', lanes: ['A', 'B'] });
    refused(await runOcr(['compare', 'new', '--session', session.id, '--attempt', 'A', 'x'], { env: env() }), /^ocr: --attempt: "A" is not an attempt \(write LANE=HOW\[:INTENT\]/);
    refused(await runOcr(['compare', 'new', '--session', session.id, '--attempt', 'A=python3', '--attempt', 'B=-x', 'x'], { env: env() }), /^ocr: --attempt: "-x" is neither shell, agent nor an agent profile name/);
    refused(await runOcr(['compare', 'new', '--session', session.id, '--attempt', 'A=shell', 'x'], { env: env() }), /^ocr: attempts: a comparison needs at least 2 attempts, each in its own lane/);
    refused(await runOcr(['compare'], { env: env() }), /^ocr: group: say which comparison to show/);
    refused(await runOcr(['compare', 'abcdef12'], { env: env() }), /^ocr: group abcdef12 does not exist/);
    expect(await store.listRuns({ sessionId: session.id })).toEqual([]);
  });
});
