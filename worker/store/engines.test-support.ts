// The engines the contract suite runs against: the machine's PostgreSQL and the embedded server.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { EmbeddedDatabase } from './embedded';
import { createTestDatabase } from './testing';

export interface Engine {
  name: string;
  /** A fresh, empty database on this engine. */
  start(): Promise<{ url: string; stop(): Promise<void> }>;
}

export const engines: Engine[] = [
  {
    name: 'postgres',
    async start() {
      const db = await createTestDatabase('ocr_contract');
      return { url: db.url, stop: () => db.drop() };
    },
  },
  {
    name: 'embedded',
    async start() {
      const folder = mkdtempSync(path.join(os.tmpdir(), 'ocr-embedded-'));
      const embedded = new EmbeddedDatabase(folder);
      const { url: serverUrl } = await embedded.ensureRunning().catch((e: unknown) => {
        rmSync(folder, { recursive: true, force: true });
        throw e;
      });
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      await admin.query('create database contract');
      await admin.end();
      const url = new URL(serverUrl);
      url.pathname = '/contract';
      return {
        url: url.toString(),
        async stop() {
          await embedded.stop();
          rmSync(folder, { recursive: true, force: true });
        },
      };
    },
  },
];
