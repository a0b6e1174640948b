import { describe, expect, it, vi } from 'vitest';
import { HostClient } from './client';
import { hostNotification, parseWebviewMessage, type WebviewMessage } from './protocol';
import { Runboard } from './runboard';
import { lines, run, session, snapshot, logOf } from './test/fixtures';
import { ViewStore } from './view-state';
import { memoryWebviewApi } from './vscode';

// The page's window as far as the client cares: a target of 'message' events.
function windowLike() {
  const target = new EventTarget();
  return {
    source: target as unknown as Window,
    deliver: (data: unknown) => target.dispatchEvent(new MessageEvent('message', { data: structuredClone(data) })),
  };
}

function page(state?: unknown) {
  const sent: WebviewMessage[] = [];
  const api = memoryWebviewApi({
    state,
    onMessage(raw) {
      const parsed = parseWebviewMessage(raw);
      if (!parsed.ok) throw new Error(parsed.reason);
      sent.push(parsed.message);
    },
  });
  const w = windowLike();
  const frames: Array<() => void> = [];
  const warn = vi.fn();
  const runboard = new Runboard(api, w.source, { requestFrame: (cb) => frames.push(cb), console: { warn } });
  const frame = () => {
    while (frames.length > 0) frames.shift()!();
  };
  // Messages wait in the page's inbox until the next animation frame: deliver, then let a frame pass.
  const deliver = (data: unknown) => {
    w.deliver(data);
    frame();
  };
  return { runboard, api, sent, warn, deliver, frame };
}

describe('the host client', () => {
  it('resolves a request with its checked result', async () => {
    const { runboard, sent, deliver } = page();
    const answer = runboard.client.request('cancelRun', { run_id: 'r1' });
    const request = sent[0]!;
    expect(request).toMatchObject({ kind: 'request', method: 'cancelRun', params: { run_id: 'r1' } });
    deliver({ kind: 'response', id: (request as { id: number }).id, ok: true, result: { outcome: 'cancel_requested' } });
    await expect(answer).resolves.toEqual({ outcome: 'cancel_requested' });
  });

  it('rejects with the host’s error, and with invalid_message when the result does not fit', async () => {
    const { runboard, sent, deliver } = page();
    const failing = runboard.client.request('retryRun', { run_id: 'r1' });
    deliver({ kind: 'response', id: 1, ok: false, error: { code: 'invalid_state', message: 'the run is still running' } });
    await expect(failing).rejects.toMatchObject({ name: 'RunboardError', code: 'request_failed', hostCode: 'invalid_state', message: 'the run is still running' });

    const odd = runboard.client.request('retryRun', { run_id: 'r1' });
    deliver({ kind: 'response', id: 2, ok: true, result: { run: 'no id' } });
    await expect(odd).rejects.toMatchObject({ code: 'invalid_message' });
    expect(sent.at(-1)).toMatchObject({ kind: 'notify', method: 'problem' });
  });

  it('drops an invalid message, logs why and tells the host, but ignores messages that are not ours', () => {
    const { runboard, sent, warn, deliver } = page();
    const seen = vi.fn();
    runboard.client.onNotification(seen);
    deliver({ kind: 'notify', method: 'runs', params: { session_id: 's', runs: [{ id: 'x' }] } });
    deliver({ kind: 'notify', method: 'teleport', params: {} });
    deliver({ type: 'some-other-frame-message' });
    expect(seen).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[0]?.[0]).toMatch(/dropped a message from the editor: notification "runs": params\.runs\.0\./);
    expect(sent.filter((m) => m.method === 'problem')).toHaveLength(2);
  });

  it('rejects what is still waiting when the page goes away', async () => {
    const w = windowLike();
    const client = new HostClient(memoryWebviewApi(), w.source);
    const waiting = client.request('openLog', { run_id: 'r' });
    client.dispose();
    await expect(waiting).rejects.toMatchObject({ code: 'disposed' });
  });
});

describe('the page’s flow', () => {
  it('says ready first, naming the session it showed before', () => {
    const { runboard, sent } = page({ version: 1, sessionId: 's-1', showArchived: false, lanes: {} });
    runboard.start();
    expect(sent).toEqual([{ kind: 'notify', method: 'ready', params: { protocol: 1, session_id: 's-1' } }]);
  });

  it('follows the log each lane shows and the next run of a lane where nothing runs, and switches when the user picks an earlier run', () => {
    const { runboard, sent, deliver } = page();
    runboard.start();
    const s = session();
    const old = run(s, { status: 'failed' });
    const live = run(s, { status: 'running' });
    const other = run(s, { status: 'succeeded', lane: 'B' });
    const nextInA = run(s, { lane: 'A' });
    const nextInC = run(s, { lane: 'C' });
    deliver(hostNotification('snapshot', snapshot(s, [old, live, other, nextInA, nextInC])));
    const follows = () => sent.filter((m) => m.method === 'followLog' || m.method === 'unfollowLog').map((m) => [m.method, (m.params as { run_id: string }).run_id]);
    // lane A runs a run: its queued one waits unfollowed
    expect(follows()).toEqual([
      ['followLog', live.id],
      ['followLog', other.id],
      ['followLog', nextInC.id],
    ]);
    sent.length = 0;
    runboard.pickRun('A', old.id);
    expect(follows()).toEqual([
      ['unfollowLog', live.id],
      ['followLog', old.id],
    ]);
  });

  it('asks for the lines it misses after every new snapshot, from the last one it has', () => {
    const { runboard, sent, deliver } = page();
    runboard.start();
    const s = session();
    const live = run(s, { status: 'running' });
    deliver(hostNotification('snapshot', snapshot(s, [live])));
    deliver(hostNotification('log', logOf(live.id, lines(1, 40))));
    sent.length = 0;
    deliver(hostNotification('snapshot', snapshot(s, [live])));
    expect(sent).toEqual([{ kind: 'notify', method: 'followLog', params: { run_id: live.id, after_seq: 40 } }]);
  });

  it('remembers the shown session through getState/setState, and starts afresh from a state that does not fit', () => {
    vi.useFakeTimers();
    try {
      const api = memoryWebviewApi();
      const view = new ViewStore(api);
      view.setSession('s-9');
      view.updateLane('s-9', 'B', { draft: 'npm test', scroll: { runId: 'r', step: null, topLine: 120, follow: false } }, { quiet: true });
      vi.advanceTimersByTime(500);
      const reloaded = new ViewStore(memoryWebviewApi({ state: api.getState() }));
      expect(reloaded.getState().sessionId).toBe('s-9');
      expect(reloaded.lane('s-9', 'B')).toMatchObject({ draft: 'npm test', scroll: { topLine: 120, follow: false } });

      const warn = vi.fn();
      const broken = new ViewStore(memoryWebviewApi({ state: { version: 99, lanes: 'no' } }), { warn });
      expect(broken.getState().sessionId).toBeNull();
      expect(warn).toHaveBeenCalledOnce();
    } finally {
      vi.useRealTimers();
    }
  });
});
