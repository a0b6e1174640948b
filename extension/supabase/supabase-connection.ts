// The editor on a Supabase project: the project's URL and anon key in the settings (public values), the person's auth
// session and the worker token in SecretStorage. The Sessions tree, the Runboard and the commands get an ApiClientStore
// signed in as the person; the worker in the editor gets the function's worker routes with the worker token, or stays
// off until there is one.
import * as vscode from 'vscode';
import { ApiClientStore, type ProjectHealth } from '../../worker/api/api-client-store';
import { HttpWorkerStore } from '../../worker/api/http-store';
import { OcrError } from '../../worker/store/errors';
import type { WorkerStore } from '../../worker/store/store';
import type { Log } from '../log';
import { readSettings } from '../settings';
import { functionUrlOf, type SupabaseProject, SupabaseAuth } from './supabase-auth';

/** The worker in the editor has no worker token for this project: it stays off, and the status bar says so. */
export class NoWorkerTokenError extends OcrError {
  constructor(project: string) {
    super('invalid_state', `the worker in this editor needs a worker token for ${project}`, 'run "OCR: Set Worker Token…"');
    this.name = 'NoWorkerTokenError';
  }
}

const workerTokenPattern = /^ocrw_[A-Za-z0-9_-]{16,200}$/;

/** A worker token as `ocr token create` prints it, or a one-line error. */
export function checkToken(text: string): string {
  const token = text.trim();
  if (!workerTokenPattern.test(token)) throw new OcrError('invalid_input', 'worker token: not a worker token (ocrw_ and 64 characters)', 'copy it again from `ocr token create --name NAME`, or create one here');
  return token;
}

export const workerTokenKey = (project: string): string => `ocr.supabase.workerToken.${new URL(project).host}`;

export class SupabaseConnection implements vscode.Disposable {
  private auth: { key: string; auth: SupabaseAuth } | undefined;
  private worker: { token: string; store: HttpWorkerStore } | undefined;
  private readonly tokenRefused = new vscode.EventEmitter<string>();
  /** The project refused the worker token (revoked, or never valid): nothing the worker sends is taken any more. */
  readonly onWorkerTokenRefused = this.tokenRefused.event;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly log: Log,
  ) {}

  /** The project the settings name, or a clear error saying how to connect. */
  project(): SupabaseProject {
    const { settings } = readSettings();
    if (!settings['supabase.url'] || !settings['supabase.anonKey']) {
      throw new OcrError('invalid_input', 'ocr.backend is "supabase" but no project is connected', 'run "OCR: Connect to Supabase…"');
    }
    return { url: settings['supabase.url'], anonKey: settings['supabase.anonKey'] };
  }

  /** The sign-in of a project: one supabase-js client per project URL and key, its session in SecretStorage. */
  authOf(project: SupabaseProject): SupabaseAuth {
    const key = `${project.url}\n${project.anonKey}`;
    if (this.auth?.key !== key) {
      this.auth?.auth.dispose();
      this.auth = { key, auth: new SupabaseAuth(project, this.secrets) };
    }
    return this.auth.auth;
  }

  /** A store of the signed-in person; the project is checked first (function deployed, migrations pushed). */
  async open(project = this.project(), teamId = readSettings().settings['supabase.team'] || undefined): Promise<{ store: ApiClientStore; health: ProjectHealth }> {
    const auth = this.authOf(project);
    const user = await auth.user();
    if (!user) throw new OcrError('not_authorized', `not signed in to ${project.url}`, 'run "OCR: Connect to Supabase…" and sign in');
    const store = new ApiClientStore({
      url: functionUrlOf(project.url),
      accessToken: () => auth.accessToken(),
      refreshToken: () => auth.refresh(),
      teamId,
      description: `Supabase project ${new URL(project.url).host} as ${user.email ?? user.id}`,
      log: (line) => this.log.info(line),
    });
    try {
      const health = await store.check();
      if (health.teams.length === 0) this.log.warn(`${user.email ?? user.id} is in no team of ${project.url}: nothing to see until an owner adds them, or they create a team`);
      return { store, health };
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  /**
   * The worker's store: the function's worker routes with the worker token kept for this project. Asked for when the
   * worker starts, after any worker of the previous one has stopped, so a store of another token is closed here.
   */
  async workerStore(): Promise<WorkerStore> {
    const project = this.project();
    const token = await this.secrets.get(workerTokenKey(project.url));
    if (this.worker?.token !== token) await this.closeWorkerStore();
    if (!token) throw new NoWorkerTokenError(project.url);
    if (!this.worker) {
      const store = new HttpWorkerStore({
        url: functionUrlOf(project.url),
        token,
        log: (line) => this.log.info(`worker: ${line}`),
        onTokenRefused: (message) => {
          this.log.warn(`the project refused the worker token: ${message}; set another with "OCR: Set Worker Token…"`);
          this.tokenRefused.fire(message);
        },
      });
      this.worker = { token, store };
    }
    return this.worker.store;
  }

  async setWorkerToken(token: string | undefined): Promise<void> {
    const key = workerTokenKey(this.project().url);
    if (token === undefined) await this.secrets.delete(key);
    else await this.secrets.store(key, checkToken(token));
  }

  async hasWorkerToken(): Promise<boolean> {
    return (await this.secrets.get(workerTokenKey(this.project().url))) !== undefined;
  }

  async closeWorkerStore(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.store.close();
  }

  dispose(): void {
    this.auth?.auth.dispose();
    void this.closeWorkerStore();
    this.tokenRefused.dispose();
  }
}
