// The two child roles of a benchmark run. A worker runs one system's worker with the harness's handler, which reports
// every start and end to the parent; a producer queues and cancels runs for the parent and answers when it did.
// Both run the peer's library under the Node that peer needs, so the parent never loads a peer itself.
import { setTimeout as sleep } from 'node:timers/promises';
import { ChildConfig, type ChildMessage, now, type ParentMessage, ProducerRequest, type RunEvent } from './protocol';
import { loadSystem } from './systems';
import type { Handler, Producer, RunningWorker, Work } from './systems/types';

function send(message: ChildMessage): void {
  process.send?.(message);
}

export async function runChild(rawConfig: string): Promise<void> {
  const config = ChildConfig.parse(JSON.parse(rawConfig));
  // an orphan must not keep working (or holding connections) after the harness is gone
  process.on('disconnect', () => process.exit(0));
  process.on('unhandledRejection', (e) => {
    send({ t: 'fatal', error: String((e as Error)?.stack ?? e) });
  });
  const system = await loadSystem(config.system, config.peerBase);
  if (config.role === 'producer') {
    const producer = await system.producer(config.url, { profile: config.profile, leaseSeconds: config.leaseSeconds });
    process.on('message', (m: ParentMessage) => void onProducerMessage(producer, m, config));
  } else {
    let worker: RunningWorker | undefined;
    const handler = makeHandler();
    process.on('message', (m: ParentMessage) => {
      if (m.t === 'go') {
        void system
          .startWorker(config.url, { ...config, leaseSeconds: config.leaseSeconds }, handler)
          .then((w) => {
            worker = w;
            send({ t: 'started' });
          })
          .catch((e: Error) => send({ t: 'fatal', error: e.stack ?? e.message }));
      } else if (m.t === 'stats') {
        send({ t: 'stats', stats: worker?.stats?.() ?? [] });
      } else if (m.t === 'stop') {
        void stopWithin(worker, 8000).then(() => flushEvents()).then(() => process.exit(0));
      }
    });
  }
  send({ t: 'ready', version: system.version, node: process.version });
}

async function onProducerMessage(producer: Producer, m: ParentMessage, config: ChildConfig): Promise<void> {
  if (m.t === 'stop') {
    await producer.close().catch(() => undefined);
    process.exit(0);
  }
  if (m.t !== 'req') return;
  const req = ProducerRequest.parse(m);
  const at = now();
  try {
    let value: unknown = null;
    switch (req.op) {
      case 'prepare':
        await producer.prepare(config.plan);
        break;
      case 'enqueue':
        await producer.enqueue(req.jobs);
        break;
      case 'enqueueOne':
        await producer.enqueueOne(req.job);
        break;
      case 'cancel':
        await producer.cancel(req.key);
        break;
      case 'unfinished':
        value = await producer.unfinished();
        break;
    }
    send({ t: 'reply', id: req.id, ok: true, value, at });
  } catch (e) {
    send({ t: 'reply', id: req.id, ok: false, error: (e as Error).message });
  }
}

async function stopWithin(worker: RunningWorker | undefined, ms: number): Promise<void> {
  if (!worker) return;
  await Promise.race([worker.stop().catch((e: Error) => console.error(`stopping the worker failed: ${e.message}`)), sleep(ms)]);
}

// Events leave in batches, one per turn of the event loop: cheap for 20,000 no-op runs, and never late by more than
// a turn. Each event carries the time it happened, so batching does not move it.
let pending: RunEvent[] = [];
let scheduled = false;
function record(event: RunEvent): void {
  pending.push(event);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushEvents);
  }
}
function flushEvents(): void {
  scheduled = false;
  if (pending.length === 0) return;
  const events = pending;
  pending = [];
  send({ t: 'events', events });
}

function makeHandler(): Handler {
  return async (job, signal) => {
    record(['s', job.key, now()]);
    await perform(job.work, signal);
    record([signal?.aborted ? 'c' : 'e', job.key, now()]);
  };
}

function perform(work: Work, signal: AbortSignal | undefined): Promise<void> {
  if (work.kind === 'noop') return Promise.resolve();
  const ms = work.kind === 'sleep' ? work.ms : work.maxMs;
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
