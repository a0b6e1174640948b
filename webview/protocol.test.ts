import { describe, expect, it } from 'vitest';
import { answerRequest, artifactInfo, diffInfo, hostNotification, type LogEvent, logBatches, parseHostMessage, parseResult, parseWebviewMessage, type RequestHandlers, requests, stepOf } from './protocol';
import { lines, run, session, snapshot } from './test/fixtures';

describe('messages from the webview', () => {
  it('accepts requests and notifications that fit their descriptors', () => {
    const s = session();
    const parsed = parseWebviewMessage({
      kind: 'request',
      id: 7,
      method: 'run',
      params: { session_id: s.id, lane: 'A', intent: '  npm test ', run_with: { executor: 'shell' }, priority: 0 },
    });
    expect(parsed).toEqual({
      ok: true,
      message: { kind: 'request', id: 7, method: 'run', params: { session_id: s.id, lane: 'A', intent: 'npm test', run_with: { executor: 'shell' }, priority: 0 } },
    });
    expect(parseWebviewMessage({ kind: 'notify', method: 'ready', params: { protocol: 1, session_id: null } }).ok).toBe(true);
  });

  it('refuses what does not fit, with a reason that names the field', () => {
    const bad = parseWebviewMessage({ kind: 'request', id: 1, method: 'run', params: { session_id: crypto.randomUUID(), lane: 'A', intent: '   ', run_with: { executor: 'docker' }, priority: 1 } });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.reason).toContain('params.intent: a run needs an intent');
    expect(bad.reason).toContain('params.run_with.executor');

    expect(parseWebviewMessage({ kind: 'request', id: 1, method: 'dropDatabase', params: {} })).toEqual({ ok: false, reason: 'unknown request "dropDatabase"' });
    expect(parseWebviewMessage({ kind: 'request', id: -1, method: 'openLog', params: { run_id: 'r' } }).ok).toBe(false);
    expect(parseWebviewMessage({ kind: 'notify', method: 'ready', params: { protocol: 2, session_id: null } }).ok).toBe(false);
    expect(parseWebviewMessage('ready').ok).toBe(false);
    expect(parseWebviewMessage(null).ok).toBe(false);
    // a method name that exists on every object is still unknown
    expect(parseWebviewMessage({ kind: 'notify', method: 'toString', params: {} })).toEqual({ ok: false, reason: 'unknown notification "toString"' });
  });
});

describe('messages from the host', () => {
  it('accepts store rows as they are and drops the fields the page does not use', () => {
    const s = session();
    const r = { ...run(s, { status: 'running' }), claimed_at: '2025-01-01T00:00:01.000Z', secret_column: 'x' };
    const parsed = parseHostMessage(hostNotification('snapshot', { ...snapshot(s), runs: [r] }));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok || parsed.message.kind !== 'notify' || parsed.message.method !== 'snapshot') throw new Error('not a snapshot');
    expect(parsed.message.params.runs[0]).not.toHaveProperty('secret_column');
    expect(parsed.message.params.runs[0]?.status).toBe('running');
  });

  it('refuses a delta with a status the page does not know, naming where', () => {
    const s = session();
    const parsed = parseHostMessage(hostNotification('runs', { session_id: s.id, runs: [{ ...run(s), status: 'exploded' as 'queued' }] }));
    expect(parsed).toMatchObject({ ok: false });
    if (parsed.ok) return;
    expect(parsed.reason).toMatch(/^notification "runs": params\.runs\.0\.status: /);
  });

  it('carries log lines column by column, split where seqs jump, and refuses a batch whose columns disagree', () => {
    const events = [...lines(1, 2), { seq: 3, stream: 'stderr' as const, level: 'error' as const, text: 'boom' }, ...lines(7, 1)];
    const batches = logBatches('r', events);
    expect(batches.map((b) => b.params)).toEqual([
      { run_id: 'r', first_seq: 1, text: ['line 1', 'line 2', 'boom'], stream: 'ooe', level: 'iie' },
      { run_id: 'r', first_seq: 7, text: ['line 7'], stream: 'o', level: 'i' },
    ]);
    for (const b of batches) expect(parseHostMessage(structuredClone(b)).ok).toBe(true);
    const short = parseHostMessage({ kind: 'notify', method: 'log', params: { ...batches[0]!.params, stream: 'oo' } });
    expect(short).toMatchObject({ ok: false, reason: 'notification "log": params.stream: stream and level need one letter per line of text' });
    expect(parseHostMessage({ kind: 'notify', method: 'log', params: { ...batches[0]!.params, first_seq: 0 } }).ok).toBe(false);
  });

  it('carries the step of each line as runs and the data of the few lines that have some, only when some line has them', () => {
    const events: LogEvent[] = [
      { seq: 1, stream: 'system', level: 'info', text: 'runbook ship v1: 2 step(s)', data: { runbook: 'ship' } },
      { seq: 2, stream: 'system', level: 'info', text: 'step build: build', step: 'build', data: { tries: 1 } },
      { seq: 3, stream: 'stdout', level: 'info', text: 'ok', step: 'build' },
      { seq: 4, stream: 'stdout', level: 'info', text: 'a long line, continued', step: 'build', data: { continued: true } },
      { seq: 5, stream: 'system', level: 'success', text: 'step build: succeeded in 1.0 s', step: null },
      { seq: 6, stream: 'stdout', level: 'info', text: 'step other: printed by the program', step: 'deploy' },
      { seq: 7, stream: 'stdout', level: 'info', text: 'step fake: the program, not the worker', step: null },
    ];
    const [batch] = logBatches('r', events);
    expect(batch!.params).toMatchObject({
      level: 'iiiikii',
      steps: [[1, null], [4, 'build'], [1, 'deploy'], [1, null]],
      data: [[0, { runbook: 'ship' }], [1, { tries: 1 }]],
    });
    expect(parseHostMessage(structuredClone(batch)).ok).toBe(true);
    // a shell run's lines have neither: the batch is what it always was
    expect(logBatches('r', lines(1, 3))[0]!.params).not.toHaveProperty('steps');
    expect(logBatches('r', lines(1, 3))[0]!.params).not.toHaveProperty('data');
    expect(stepOf({ stream: 'system', text: 'step deploy-web: waiting for approval — ok?', step: null })).toBe('deploy-web');
    expect(stepOf({ stream: 'system', text: 'steps: 3', step: null })).toBeNull();

    const bad = (patch: Record<string, unknown>) => parseHostMessage({ kind: 'notify', method: 'log', params: { ...batch!.params, ...patch } });
    expect(bad({ steps: [[2, 'build']] })).toMatchObject({ ok: false, reason: expect.stringContaining('params.steps: the runs of steps need to add up to the lines of text') });
    expect(bad({ steps: [[0, 'build'], [7, null]] }).ok).toBe(false);
    expect(bad({ data: [[1, {}], [0, {}]] })).toMatchObject({ ok: false, reason: expect.stringContaining('params.data: data needs increasing indexes') });
    expect(bad({ data: [[7, {}]] }).ok).toBe(false);
  });

  it('refuses responses without an id', () => {
    expect(parseHostMessage({ kind: 'response', ok: true, result: {} }).ok).toBe(false);
    expect(parseHostMessage({ kind: 'response', id: 3, ok: false, error: { code: 'not_found', message: 'no such run' } }).ok).toBe(true);
  });

  it('checks a result against its request', () => {
    expect(parseResult('cancelRun', { outcome: 'canceled' })).toEqual({ ok: true, message: { outcome: 'canceled' } });
    expect(parseResult('cancelRun', { outcome: 'maybe' }).ok).toBe(false);
  });
});

describe('the host side', () => {
  const handlers = (overrides: Partial<RequestHandlers>): RequestHandlers => {
    const missing = () => {
      throw new Error('not in this test');
    };
    return Object.fromEntries(Object.keys(requests).map((m) => [m, overrides[m as keyof RequestHandlers] ?? missing])) as RequestHandlers;
  };

  it('answers a request with its result, or with the error and its code', async () => {
    const ok = await answerRequest(handlers({ retryRun: async ({ run_id }) => ({ run_id: `${run_id}-retry` }) }), {
      kind: 'request',
      id: 4,
      method: 'retryRun',
      params: { run_id: 'r1' },
    });
    expect(ok).toEqual({ kind: 'response', id: 4, ok: true, result: { run_id: 'r1-retry' } });

    const coded = Object.assign(new Error('the run has finished'), { code: 'invalid_state', hint: 'retry it instead' });
    const failed = await answerRequest(handlers({ cancelRun: () => Promise.reject(coded) }), { kind: 'request', id: 5, method: 'cancelRun', params: { run_id: 'r1' } });
    expect(failed).toEqual({ kind: 'response', id: 5, ok: false, error: { code: 'invalid_state', message: 'the run has finished (retry it instead)' } });
  });

  it('turns a diff artifact into the summary the page shows, without the patch', () => {
    const artifact = {
      id: 'art-1',
      run_id: 'run-1',
      kind: 'diff',
      name: 'lane-A.patch',
      size: 99,
      content: 'diff --git …',
      meta: { base: 'abc', files: 1, insertions: 2, deletions: 0, binaryFiles: 0, entries: [{ path: 'a.txt', status: 'added', insertions: 2, deletions: 0, binary: false }], encoding: 'utf8', omitted: false, branch: 'ocr/x/A' },
    };
    const info = diffInfo(artifact);
    expect(info).toMatchObject({ run_id: 'run-1', artifact_id: 'art-1', files: 1, insertions: 2, binary_files: 0 });
    expect(info).not.toHaveProperty('content');
    expect(diffInfo({ ...artifact, kind: 'log' })).toBeUndefined();
    expect(diffInfo({ ...artifact, meta: { nothing: true } })).toBeUndefined();
    expect(parseHostMessage(hostNotification('diff', { diff: info! })).ok).toBe(true);
  });

  it('turns any artifact into what the page lists, without its content, a binary file by its own size', () => {
    const row = { id: 'art-2', run_id: 'run-1', kind: 'file', name: 'logo.png', mime: 'application/octet-stream', size: 1368, content: 'iVBORw0…', meta: { encoding: 'base64', size: 1024 }, created_at: '2025-01-01T00:00:00.000Z' };
    const info = artifactInfo(row);
    expect(info).toEqual({ run_id: 'run-1', artifact_id: 'art-2', kind: 'file', name: 'logo.png', mime: 'application/octet-stream', size: 1024, created_at: '2025-01-01T00:00:00.000Z' });
    expect(artifactInfo({ ...row, meta: {} })?.size).toBe(1368);
    expect(artifactInfo({ ...row, kind: 'video' })).toBeUndefined();
    expect(parseHostMessage(hostNotification('artifacts', { run_id: 'run-1', artifacts: [info!] })).ok).toBe(true);
  });
});
