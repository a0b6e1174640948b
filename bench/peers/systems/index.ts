import type { SystemName } from '../config';
import { graphileWorker, graphileWorkerCapabilities } from './graphile-worker';
import { type PeerBase, peerVersion } from './load';
import { ocr } from './ocr';
import { pgBoss, pgBossCapabilities } from './pg-boss';
import type { Capabilities, QueueSystem } from './types';

/** The system under test; `base` picks which installed release of a peer (undefined: the project's own). */
export async function loadSystem(name: SystemName, base: PeerBase): Promise<QueueSystem> {
  switch (name) {
    case 'ocr':
      return ocr;
    case 'graphile-worker':
      return graphileWorker(base);
    case 'pg-boss':
      return pgBoss(base);
  }
}

/** Its version and what it can do, without loading it: a peer may need another Node than this process runs. */
export function describeSystem(name: SystemName, base: PeerBase): { version: string; capabilities: Capabilities } {
  switch (name) {
    case 'ocr':
      return { version: ocr.version, capabilities: ocr.capabilities };
    case 'graphile-worker':
      return { version: peerVersion('graphile-worker', base), capabilities: graphileWorkerCapabilities() };
    case 'pg-boss': {
      const version = peerVersion('pg-boss', base);
      return { version, capabilities: pgBossCapabilities(version) };
    }
  }
}
