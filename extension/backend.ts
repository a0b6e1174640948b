// Which database the editor uses, opened on first need so activation stays fast. The Postgres URL lives only in
// SecretStorage; OCR_DATABASE_URL in the extension host's environment overrides the settings (scripted set-ups, tests).
import * as vscode from 'vscode';
import { defaultDataFolder } from '../worker/store/embedded';
import { OcrError } from '../worker/store/errors';
import { isPostgresUrl, openStore } from '../worker/store/open';
import { redactUrl } from '../worker/store/postgres';
import type { Store, WorkerStore } from '../worker/store/store';
import type { Log } from './log';
import { readSettings } from './settings';
import { SupabaseConnection } from './supabase/supabase-connection';

const secretKey = 'ocr.postgresUrl';

export class Backend implements vscode.Disposable {
  private opening: Promise<Store> | undefined;
  private readonly changed = new vscode.EventEmitter<Store | undefined>();
  /** Fires after the store was switched (or closed): anything holding the old one must let go of it. */
  readonly onDidChange = this.changed.event;
  /** the Supabase project of ocr.backend "supabase": the person's sign-in and the worker's token */
  readonly supabase: SupabaseConnection;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly log: Log,
  ) {
    this.supabase = new SupabaseConnection(secrets, log);
  }

  /** Whether the editor reaches its queue through a Supabase project (OCR_DATABASE_URL overrides the settings). */
  usesSupabase(): boolean {
    return !process.env.OCR_DATABASE_URL?.trim() && readSettings().settings.backend === 'supabase';
  }

  /** The store the editor's worker uses: the same store, or on Supabase the function with the worker token. */
  async workerStore(): Promise<WorkerStore> {
    return this.usesSupabase() ? this.supabase.workerStore() : this.store();
  }

  /** The store, opening (and for the embedded database, starting) it on first call. */
  store(): Promise<Store> {
    this.opening ??= this.open().catch((e: unknown) => {
      this.opening = undefined;
      throw e;
    });
    return this.opening;
  }

  /** The store if it is already open; never starts anything. */
  async current(): Promise<Store | undefined> {
    return this.opening?.catch(() => undefined);
  }

  private async target(): Promise<{ db: string | undefined; label: string; source: string }> {
    const fromEnv = process.env.OCR_DATABASE_URL?.trim();
    if (fromEnv) return { db: fromEnv, label: isPostgresUrl(fromEnv) ? redactUrl(fromEnv) : fromEnv, source: 'OCR_DATABASE_URL' };
    const { settings } = readSettings();
    if (settings.backend === 'postgres') {
      const url = await this.secrets.get(secretKey);
      if (!url) {
        throw new OcrError('invalid_input', 'ocr.backend is "postgres" but no database is connected',
          'run "OCR: Connect to Postgres…", or "OCR: Use Embedded Database"');
      }
      return { db: url, label: redactUrl(url), source: 'the connected database' };
    }
    const folder = settings['embedded.dataDir'] || defaultDataFolder();
    return { db: folder, label: `embedded database in ${folder}`, source: 'ocr.embedded.dataDir' };
  }

  private async open(): Promise<Store> {
    const t0 = Date.now();
    if (this.usesSupabase()) {
      const { store } = await this.supabase.open();
      this.log.info(`connected to ${store.description} in ${Date.now() - t0} ms`);
      return store;
    }
    const { db, label, source } = await this.target();
    // the default data folder is created when missing; another folder must hold an embedded database already
    const store = await openStore(db, { log: (m) => this.log.info(m), source, initFlag: false });
    this.log.info(`connected to ${label} in ${Date.now() - t0} ms`);
    return store;
  }

  /** Tests the URL and applies the migrations before anything is saved: a bad URL changes nothing. */
  async connectPostgres(url: string): Promise<void> {
    if (!isPostgresUrl(url)) {
      throw new OcrError('invalid_input', 'the database URL must start with postgres:// or postgresql://', 'for example postgres://user:password@host:5432/db');
    }
    const probe = await openStore(url, { log: (m) => this.log.info(m), source: 'the database URL' });
    await probe.close();
    await this.secrets.store(secretKey, url);
    await vscode.workspace.getConfiguration('ocr').update('backend', 'postgres', vscode.ConfigurationTarget.Global);
    this.log.info(`connected to ${redactUrl(url)}`);
    await this.reopen();
  }

  async useEmbedded(): Promise<void> {
    await vscode.workspace.getConfiguration('ocr').update('backend', 'embedded', vscode.ConfigurationTarget.Global);
    await this.reopen();
  }

  /** Closes the current store; the next call to store() opens the one the settings name now. */
  async reopen(): Promise<void> {
    const old = this.opening;
    this.opening = undefined;
    this.changed.fire(undefined);
    await (await old?.catch(() => undefined))?.close().catch(() => undefined);
  }

  dispose(): void {
    void this.opening?.then((s) => s.close()).catch(() => undefined);
    this.supabase.dispose();
    this.changed.dispose();
  }
}
