/// <reference types="mocha" />
// Land Lane… and Reset Lane in a real VS Code: a real worker's run changes lane A, the command lands it on the
// repository's branch, a refusal reaches the caller with nothing changed, and Reset Lane starts the lane again.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { LandLaneOutcome, ResetLaneOutcome } from '../../../extension/commands/land-commands';
import { laneBranch } from '../../../worker/engine/worktree';
import { git, laneFixture, type LaneFixture } from './lane-fixture';

describe('landing lanes', function () {
  this.timeout(240_000);
  let lane: LaneFixture;

  before(async function () {
    this.timeout(240_000);
    lane = await laneFixture('Land session', { 'app.txt': 'one\ntwo\n', 'notes.md': '# notes\n' });
  });

  after(async () => {
    await lane?.dispose();
  });

  it("lands a run's changes on the checked-out branch as one commit, refuses a dirty tree without changing it, and resets the lane", async () => {
    const run = await lane.finished((await lane.run('A', "printf 'one\\nTWO\\n' > app.txt && printf 'new\\n' > added.txt")).id);
    assert.equal(run.status, 'succeeded', run.error ?? '');
    await lane.stopWorker();
    const before = git(lane.repo, 'rev-parse', 'main').trim();

    // a dirty working tree: refused, to the caller and in a notification, and nothing moves
    writeFileSync(path.join(lane.repo, 'notes.md'), '# notes, being edited\n');
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('ocr.landLane', { runId: run.id, mode: 'squash', confirm: false })),
      /your working tree in .* has uncommitted changes: notes\.md/,
    );
    assert.equal(git(lane.repo, 'rev-parse', 'main').trim(), before);
    assert.equal(git(lane.repo, 'status', '--porcelain'), ' M notes.md\n');
    git(lane.repo, 'checkout', '-q', '--', 'notes.md');

    const landed = await vscode.commands.executeCommand<LandLaneOutcome>('ocr.landLane', { runId: run.id, mode: 'squash', confirm: false });
    assert.equal(landed.outcome, 'landed');
    if (landed.outcome !== 'landed' || landed.result.mode === 'pr') throw new Error('not landed by squash');
    assert.equal(git(lane.repo, 'rev-parse', 'main~1').trim(), before);
    // the message is the run's intent
    assert.equal(git(lane.repo, 'log', '-1', '--format=%s', 'main').trim(), run.intent);
    assert.equal(git(lane.repo, 'diff', '--name-status', 'main~1', 'main'), 'A\tadded.txt\nM\tapp.txt\n');
    assert.equal(readFileSync(path.join(lane.repo, 'app.txt'), 'utf8'), 'one\nTWO\n');
    assert.equal(git(lane.repo, 'status', '--porcelain'), '');

    const reset = await vscode.commands.executeCommand<ResetLaneOutcome>('ocr.resetLane', { sessionId: lane.session.id, lane: 'A', confirm: false });
    assert.equal(reset.outcome, 'reset');
    assert.equal(git(lane.repo, 'rev-parse', laneBranch(lane.session.id, 'A')).trim(), landed.result.after);
  });

  it('refuses a lane with nothing to land, naming the branch', async () => {
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('ocr.landLane', { sessionId: lane.session.id, lane: 'A', mode: 'rebase', message: 'nothing', confirm: false })),
      /lane A has nothing to land on main/,
    );
  });
});
