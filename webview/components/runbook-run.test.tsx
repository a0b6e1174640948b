// @vitest-environment jsdom
// A runbook run in a lane: its steps with their state, the log of one step, lines colored by level with their JSON
// data unfolded inline, counts by level, export, its artifacts, Approve and Reject at a gate, and Run Runbook… in the
// lane's menu.
import '../test/dom';
import { act, fireEvent, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import '../elements';
import type { Run } from '../../domain';
import type { LogEvent } from '../protocol';
import { lane } from '../test/board';
import { artifact, diff, logOf, run, session, snapshot, steps } from '../test/fixtures';
import { mountRunboard } from '../test/mount';

/** What a runbook run's worker logs for two steps, one with a retry, and data on a few lines. */
const runbookLog: LogEvent[] = [
  { seq: 1, stream: 'system', level: 'info', text: 'runbook ship v1: 3 step(s)', data: { runbook: 'ship', version: 1, inputs: { env: 'staging' } } },
  { seq: 2, stream: 'system', level: 'info', text: 'step build: build', step: 'build', data: { tries: 1 } },
  { seq: 3, stream: 'stdout', level: 'info', text: 'compiling', step: 'build' },
  { seq: 4, stream: 'stdout', level: 'debug', text: 'cache hit', step: 'build' },
  { seq: 5, stream: 'system', level: 'success', text: 'step build: succeeded in 4.5 s' },
  { seq: 6, stream: 'system', level: 'info', text: 'step test: test', step: 'test', data: { tries: 1 } },
  { seq: 7, stream: 'stderr', level: 'error', text: 'Error: connect ECONNREFUSED', step: 'test' },
  { seq: 8, stream: 'system', level: 'warn', text: 'step test: exited 1; trying again in 2.0 s' },
  { seq: 9, stream: 'stdout', level: 'info', text: '12 tests passed', step: 'test' },
];

async function runbookLane(status: Run['status'] = 'running', more: Partial<Run> = {}) {
  const mounted = mountRunboard();
  const s = session({ lanes: ['A', 'B'] });
  const live = run(s, { status, executor: 'runbook', intent: 'Ship (runbook ship v1)', ...more });
  const plan = steps(live, [
    ['build', 'succeeded'],
    ['test', status === 'running' ? 'running' : 'succeeded'],
    ['deploy', status === 'running' ? 'queued' : 'succeeded'],
  ], { test: { tries: 2 } });
  await mounted.host.notify('snapshot', snapshot(s, [live], { steps: plan }));
  await mounted.host.notify('log', logOf(live.id, runbookLog));
  return { ...mounted, s, live, plan };
}

const stepItem = (id: string) => lane('A').querySelector<HTMLElement>(`.run-step[data-step="${id}"]`)!;
const shownTexts = () => Array.from(lane('A').querySelectorAll('.log-line:not(.log-data)')).map((l) => l.textContent);
const counts = () => Array.from(lane('A').querySelectorAll('.log-counts > span')).map((c) => c.textContent).join(' ');

describe('a runbook run', () => {
  it('lists its steps with their state, duration and tries, live', async () => {
    const { host, live, plan } = await runbookLane();
    const list = within(lane('A')).getByRole('list', { name: `Steps of run #${live.seq}` });
    expect(Array.from(list.querySelectorAll('.run-step')).map((s) => [s.getAttribute('data-step'), s.getAttribute('data-status')])).toEqual([
      ['build', 'succeeded'],
      ['test', 'running'],
      ['deploy', 'queued'],
    ]);
    expect(within(stepItem('build')).getByRole('img', { name: 'succeeded' }).className).toContain('codicon-pass');
    expect(within(stepItem('test')).getByRole('img', { name: 'running' }).className).toContain('codicon-modifier-spin');
    expect(within(stepItem('deploy')).getByRole('img', { name: 'queued' }).className).toContain('codicon-circle-large-outline');
    expect(stepItem('build').querySelector('.run-step-duration')?.textContent).toBe('4.5 s');
    // the snapshot's clock is 60 s past t0; the test step started at 12 s
    expect(stepItem('test').querySelector('.run-step-duration')?.textContent).toMatch(/^4[78]\.\d s$/);
    expect(stepItem('test').querySelector('.run-step-tries')?.textContent).toBe('2 tries');
    expect(stepItem('deploy').querySelector('.run-step-duration')).toBeNull();
    expect(lane('A').querySelector('.run-steps-summary')?.textContent).toContain('1 of 3 succeeded');

    await host.notify('steps', {
      run_id: live.id,
      steps: plan.map((s) => (s.step_id === 'deploy' ? s : { ...s, status: 'succeeded' as const, finished_at: new Date(Date.parse(s.started_at!) + 2000).toISOString() })),
    });
    expect(stepItem('test').getAttribute('data-status')).toBe('succeeded');
    expect(within(stepItem('test')).getByRole('img', { name: 'succeeded' })).toBeTruthy();
    await host.notify('steps', { run_id: live.id, steps: plan.map((s) => ({ ...s, status: s.step_id === 'deploy' ? ('failed' as const) : ('succeeded' as const), error: s.step_id === 'deploy' ? 'exited 3' : null })) });
    expect(within(stepItem('deploy')).getByRole('img', { name: 'failed' }).className).toContain('codicon-error');
    expect(stepItem('deploy').querySelector('button')?.getAttribute('title')).toContain('exited 3');
    // steps of a run the page does not show are not kept
    await host.notify('steps', { run_id: crypto.randomUUID(), steps: [] });
  });

  it('shows only the lines of the step picked, counted by level, and every line again when it is picked again', async () => {
    await runbookLane();
    expect(shownTexts()).toHaveLength(9);
    expect(counts()).toBe('Total 9 Success 1 Warnings 1 Errors 1');

    fireEvent.click(stepItem('build').querySelector('button')!);
    expect(stepItem('build').querySelector('button')?.getAttribute('aria-pressed')).toBe('true');
    // its own lines, and the worker's line about it that carries no step
    expect(shownTexts()).toEqual(['step build: build', 'compiling', 'cache hit', 'step build: succeeded in 4.5 s']);
    expect(counts()).toBe('Total 4 Success 1 Warnings 0 Errors 0');
    expect(lane('A').querySelector('.log-filter')?.textContent).toContain('Step build');

    fireEvent.click(stepItem('test').querySelector('button')!);
    expect(shownTexts()).toEqual(['step test: test', 'Error: connect ECONNREFUSED', 'step test: exited 1; trying again in 2.0 s', '12 tests passed']);
    expect(counts()).toBe('Total 4 Success 0 Warnings 1 Errors 1');

    fireEvent.click(stepItem('test').querySelector('button')!);
    expect(shownTexts()).toHaveLength(9);
    fireEvent.click(stepItem('deploy').querySelector('button')!);
    expect(lane('A').querySelector('.log-empty')?.textContent).toBe('Waiting for the lines of step deploy…');
    fireEvent.click(within(lane('A')).getByText('Show all lines'));
    expect(shownTexts()).toHaveLength(9);
    expect(lane('A').querySelector('.run-step.selected')).toBeNull();
  });

  it('takes in the lines of the step picked as they arrive', async () => {
    const { host, live } = await runbookLane();
    fireEvent.click(stepItem('test').querySelector('button')!);
    await host.notify(
      'log',
      logOf(live.id, [
        { seq: 10, stream: 'stdout', level: 'info', text: 'more tests passed', step: 'test' },
        { seq: 11, stream: 'stdout', level: 'info', text: 'deploying', step: 'deploy' },
        { seq: 12, stream: 'system', level: 'success', text: 'step test: succeeded in 3.0 s' },
      ]),
    );
    expect(shownTexts().slice(-2)).toEqual(['more tests passed', 'step test: succeeded in 3.0 s']);
    expect(counts()).toBe('Total 6 Success 1 Warnings 1 Errors 1');
  });

  it('colors each line by its level', async () => {
    await runbookLane();
    const line = (seq: number) => lane('A').querySelector(`.log-line[data-seq="${seq}"]`)!;
    expect(line(1).className).toContain('level-info');
    expect(line(4).className).toContain('level-debug');
    expect(line(5).className).toContain('level-success');
    expect(line(5).className).toContain('system');
    expect(line(7).className).toContain('level-error');
    expect(line(7).className).toContain('stderr');
    expect(line(8).className).toContain('level-warn');
  });

  it('unfolds a line\'s JSON data in the rows under it, and folds it again', async () => {
    await runbookLane();
    const line = () => lane('A').querySelector('.log-line[data-seq="1"]')!;
    const toggle = () => within(line() as HTMLElement).getByRole('button', { name: /data of this line/ });
    expect(lane('A').querySelectorAll('.log-data-toggle')).toHaveLength(3);
    expect(lane('A').querySelector('.log-line[data-seq="3"] .log-data-toggle')).toBeNull();
    expect(toggle().getAttribute('aria-expanded')).toBe('false');

    fireEvent.click(toggle());
    const rows = () => Array.from(lane('A').querySelectorAll('.log-data[data-data-of="1"]')).map((r) => r.textContent);
    expect(rows()).toEqual(['{', '  "runbook": "ship",', '  "version": 1,', '  "inputs": {', '    "env": "staging"', '  }', '}']);
    expect(toggle().getAttribute('aria-expanded')).toBe('true');
    // inline: between the line and the next one
    const order = Array.from(lane('A').querySelectorAll('.log-line')).map((r) => r.getAttribute('data-seq') ?? `data ${r.getAttribute('data-data-of')}`);
    expect(order.slice(0, 9)).toEqual(['1', ...Array(7).fill('data 1'), '2']);
    expect(lane('A').querySelector('.log-data .json-key')?.textContent).toBe('"runbook"');
    expect(lane('A').querySelector('.log-data .json-string')?.textContent).toBe('"ship"');
    expect(lane('A').querySelector('.log-data .json-number')?.textContent).toBe('1');
    // search still finds the lines, and counts only them
    expect(shownTexts()).toHaveLength(9);

    fireEvent.click(toggle());
    expect(rows()).toEqual([]);
  });

  it('exports its log, or the step\'s lines, as text or JSON through the editor', async () => {
    const { host, live } = await runbookLane();
    const exportAs = (item: string) => {
      fireEvent.click(within(lane('A')).getByTitle('Export log'));
      fireEvent.click(within(within(lane('A')).getByRole('menu', { name: 'Export log' })).getByRole('menuitem', { name: item }));
    };
    exportAs('As Text…');
    expect(host.request('exportLog').params).toEqual({ run_id: live.id, format: 'text', step: null });
    await host.answer(host.request('exportLog'), { saved: true, lines: 9, name: 'A-1234abcd.log' });
    expect(within(lane('A')).getByText('Exported 9 lines to A-1234abcd.log.')).toBeTruthy();

    fireEvent.click(stepItem('build').querySelector('button')!);
    exportAs('As JSON…');
    expect(host.request('exportLog').params).toEqual({ run_id: live.id, format: 'json', step: 'build' });
    await host.answer(host.request('exportLog'), { saved: false, lines: 0, name: null });
    expect(within(lane('A')).queryByText(/^Exported/)).toBeNull();
  });

  it('lists the artifacts of a finished run beside its diff, and opens one through the editor', async () => {
    const mounted = mountRunboard();
    const s = session({ lanes: ['A'] });
    const done = run(s, { status: 'succeeded', executor: 'runbook' });
    const report = artifact(done, 'file', 'report.txt', 2048);
    const link = artifact(done, 'link', 'Release', 40);
    const manifest = artifact(done, 'manifest', 'manifest.json', 900);
    await mounted.host.notify(
      'snapshot',
      snapshot(s, [done], { diffs: [diff(done)], steps: steps(done, [['build', 'succeeded']]), artifacts: [artifact(done, 'diff', 'lane.patch'), report, link, manifest] }),
    );
    const list = within(lane('A')).getByRole('list', { name: 'Artifacts' });
    expect(Array.from(list.querySelectorAll('.artifact')).map((a) => [a.getAttribute('data-kind'), a.querySelector('.artifact-name')?.textContent, a.querySelector('.artifact-size')?.textContent ?? null])).toEqual([
      ['file', 'report.txt', '2.0 KB'],
      ['link', 'Release', null],
      ['manifest', 'manifest.json', '900 B'],
    ]);
    expect(lane('A').querySelector('.diff-totals')?.textContent).toBe('2 files+7−3');
    fireEvent.click(within(list).getByTitle('Open in the browser: Release'));
    expect(mounted.host.request('openArtifact').params).toEqual({ run_id: done.id, artifact_id: link.artifact_id });
    await mounted.host.fail(mounted.host.request('openArtifact'), 'invalid_input', 'the link "Release" is not an http or https address, so it is not opened');
    expect(within(lane('A')).getByRole('alert').textContent).toContain('not an http or https address');
    fireEvent.click(within(list).getByTitle('Open the manifest manifest.json'));
    expect(mounted.host.request('openArtifact').params.artifact_id).toBe(manifest.artifact_id);
  });

  it('takes the artifacts posted once the run has finished', async () => {
    const { host, live, s } = await runbookLane();
    expect(within(lane('A')).queryByRole('list', { name: 'Artifacts' })).toBeNull();
    await host.notify('runs', { session_id: s.id, runs: [{ ...live, status: 'succeeded', finished_at: live.updated_at, updated_at: new Date(Date.parse(live.updated_at) + 1).toISOString() }] });
    await host.notify('artifacts', { run_id: live.id, artifacts: [artifact(live, 'file', 'coverage.txt', 10)] });
    expect(within(lane('A')).getByRole('list', { name: 'Artifacts' }).textContent).toContain('coverage.txt');
  });

  it('at a gate, shows what it asks with Approve and Reject', async () => {
    const mounted = mountRunboard();
    const s = session({ lanes: ['A'] });
    const waiting = run(s, {
      status: 'waiting',
      executor: 'runbook',
      approval: { step: 1, step_id: 'gate', message: 'Deploy to prod?', approvers: ['ana', 'raj'], requested_at: new Date().toISOString() },
    });
    await mounted.host.notify('snapshot', snapshot(s, [waiting], { steps: steps(waiting, [['build', 'succeeded'], ['gate', 'waiting'], ['deploy', 'queued']], { gate: { kind: 'approval' } }) }));
    const gate = within(lane('A')).getByRole('group', { name: `Approval of run #${waiting.seq}` });
    expect(gate.querySelector('.approval-message')?.textContent).toBe(' Waiting for approval at step gate: Deploy to prod?');
    expect(gate.textContent).toContain('Approvers: ana, raj');
    expect(within(stepItem('gate')).getByRole('img', { name: 'waiting' }).className).toContain('codicon-debug-pause');

    fireEvent.click(within(gate).getByRole('button', { name: `Reject run #${waiting.seq}` }));
    expect(mounted.host.request('rejectRun').params).toEqual({ run_id: waiting.id });
    await mounted.host.answer(mounted.host.request('rejectRun'), { rejected: false });
    fireEvent.click(within(gate).getByRole('button', { name: `Approve run #${waiting.seq}` }));
    expect(mounted.host.request('approveRun').params).toEqual({ run_id: waiting.id });
    await mounted.host.fail(mounted.host.request('approveRun'), 'not_authorized', 'you are not among the approvers of this run (ana, raj)');
    expect(within(gate).getByRole('alert').textContent).toContain('not among the approvers');

    await mounted.host.notify('runs', { session_id: s.id, runs: [{ ...waiting, status: 'queued', updated_at: new Date(Date.parse(waiting.updated_at) + 1).toISOString() }] });
    expect(within(lane('A')).queryByRole('group', { name: /^Approval/ })).toBeNull();
  });
});

describe('a lane\'s menu', () => {
  it('offers Run Runbook…, which asks the editor with the session and the lane, and says why it could not', async () => {
    const mounted = mountRunboard();
    const s = session({ lanes: ['A', 'B'] });
    await mounted.host.notify('snapshot', snapshot(s, []));
    fireEvent.click(lane('B').querySelector('.lane-menu vscode-toolbar-button')!);
    const menu = within(lane('B')).getByRole('menu', { name: 'Actions of lane B' });
    const item = within(menu).getByRole('menuitem', { name: 'Run Runbook…' });
    expect(document.activeElement).toBe(item);
    fireEvent.keyDown(item, { key: 'Enter' });
    expect(within(lane('B')).queryByRole('menu')).toBeNull();
    expect(mounted.host.request('runRunbook').params).toEqual({ session_id: s.id, lane: 'B' });
    await mounted.host.fail(mounted.host.request('runRunbook'), 'failed', "command 'ocr.runRunbook' not found");
    expect(within(lane('B')).getByRole('alert').textContent).toBe("Could not run a runbook: command 'ocr.runRunbook' not found");

    fireEvent.click(lane('B').querySelector('.lane-menu vscode-toolbar-button')!);
    await act(async () => {
      fireEvent.keyDown(within(lane('B')).getByRole('menu'), { key: 'Escape' });
    });
    expect(within(lane('B')).queryByRole('menu')).toBeNull();
  });
});
