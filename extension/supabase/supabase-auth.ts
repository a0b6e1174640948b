// Signing in to a Supabase project with supabase-js: email and password, or a one-time code sent by email. The auth
// session (access and refresh tokens) lives in the secret store the caller gives (the editor's SecretStorage) through
// supabase-js's own storage adapter, and supabase-js refreshes it before it expires. No vscode import: the sign-in is
// tested against a stand-in for the project's Auth.
import { AuthError, createClient, type Session, type SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { OcrError } from '../../worker/store/errors';

/** Where the auth session is kept: the editor's SecretStorage, or a map in tests. */
export interface SecretStore {
  get(key: string): PromiseLike<string | undefined>;
  store(key: string, value: string): PromiseLike<void>;
  delete(key: string): PromiseLike<void>;
}

export interface SupabaseProject {
  /** https://<ref>.supabase.co */
  url: string;
  /** the project's anon (publishable) key: public, it only lets people sign in */
  anonKey: string;
}

export interface SignedInUser {
  id: string;
  email: string | null;
}

/** `https://abc.supabase.co/` → `https://abc.supabase.co`; refused when it is not an http(s) URL without credentials. */
export function projectUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new OcrError('invalid_input', `project URL: ${JSON.stringify(text.trim())} is not a URL`, 'give the project\'s URL, such as https://abcd.supabase.co (Project Settings → API)');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new OcrError('invalid_input', `project URL: ${url.protocol} is not http or https`, 'give the https:// URL of the project');
  if (url.username || url.password || url.search || url.hash) throw new OcrError('invalid_input', 'project URL: give the URL alone, without credentials, query or fragment', 'such as https://abcd.supabase.co');
  return url.toString().replace(/\/+$/, '');
}

export function checkAnonKey(text: string): string {
  const key = text.trim();
  if (!/^[\w.-]{20,2000}$/.test(key)) throw new OcrError('invalid_input', 'anon key: not a Supabase API key', 'copy the anon (or publishable) key from Project Settings → API');
  return key;
}

/** The function's URL of a project: <project>/functions/v1/ops-api. */
export const functionUrlOf = (project: string): string => `${projectUrl(project)}/functions/v1/ops-api`;

export class SupabaseAuth {
  readonly project: SupabaseProject;
  private readonly client: SupabaseClient;

  constructor(project: SupabaseProject, secrets: SecretStore, options: { autoRefresh?: boolean } = {}) {
    this.project = { url: projectUrl(project.url), anonKey: checkAnonKey(project.anonKey) };
    const storageKey = `ocr.supabase.auth.${new URL(this.project.url).host}`;
    this.client = createClient(this.project.url, this.project.anonKey, {
      auth: {
        storageKey,
        storage: {
          getItem: async (key) => (await secrets.get(key)) ?? null,
          setItem: async (key, value) => secrets.store(key, value),
          removeItem: async (key) => secrets.delete(key),
        },
        persistSession: true,
        autoRefreshToken: options.autoRefresh ?? true,
        detectSessionInUrl: false,
      },
      // the editor never uses Realtime (logs come from the function's stream); Node 20 has no WebSocket of its own
      ...(typeof globalThis.WebSocket === 'undefined' ? { realtime: { transport: WebSocket as unknown as typeof globalThis.WebSocket } } : {}),
    });
  }

  async signInWithPassword(email: string, password: string): Promise<SignedInUser> {
    const { data, error } = await this.client.auth.signInWithPassword({ email: email.trim(), password });
    if (error) throw this.authError(error, 'signing in');
    return userOf(data.session);
  }

  /** Sends a one-time code to an existing user's email (no account is created). */
  async sendCode(email: string): Promise<void> {
    const { error } = await this.client.auth.signInWithOtp({ email: email.trim(), options: { shouldCreateUser: false } });
    if (error) throw this.authError(error, 'sending the code');
  }

  async verifyCode(email: string, code: string): Promise<SignedInUser> {
    const { data, error } = await this.client.auth.verifyOtp({ email: email.trim(), token: code.trim(), type: 'email' });
    if (error) throw this.authError(error, 'checking the code');
    return userOf(data.session);
  }

  /** The signed-in user, from the kept session; undefined when nobody is signed in. */
  async user(): Promise<SignedInUser | undefined> {
    const { data } = await this.client.auth.getSession();
    return data.session ? userOf(data.session) : undefined;
  }

  /** The access token now, refreshed first when it is about to expire. */
  async accessToken(): Promise<string> {
    const { data, error } = await this.client.auth.getSession();
    if (error) throw this.authError(error, 'refreshing the sign-in');
    if (!data.session) throw new OcrError('not_authorized', `not signed in to ${this.project.url}`, 'run "OCR: Connect to Supabase…" and sign in');
    return data.session.access_token;
  }

  /** A new access token now (the function refused the one held). */
  async refresh(): Promise<void> {
    const { error } = await this.client.auth.refreshSession();
    if (error) throw this.authError(error, 'refreshing the sign-in');
  }

  /** Signs out on this editor: the kept session is removed. */
  async signOut(): Promise<void> {
    const { error } = await this.client.auth.signOut({ scope: 'local' });
    if (error && !/session.*missing|not.*signed/i.test(error.message)) throw this.authError(error, 'signing out');
  }

  dispose(): void {
    void this.client.auth.stopAutoRefresh().catch(() => undefined);
  }

  private authError(e: AuthError, doing: string): OcrError {
    const where = `${this.project.url}/auth/v1`;
    const status = e.status ?? 0;
    if (e.code === 'invalid_credentials') return new OcrError('not_authorized', 'the email or the password is wrong', 'try again, or sign in with a one-time code');
    if (e.code === 'otp_expired') return new OcrError('not_authorized', 'the code is wrong or has expired', 'ask for a new code');
    if (e.code === 'email_not_confirmed') return new OcrError('not_authorized', 'the email address is not confirmed yet', 'open the confirmation email Supabase sent, then sign in');
    if (e.code === 'otp_disabled' || e.code === 'signup_disabled') return new OcrError('not_authorized', `no account for this email on the project (${e.message})`, 'ask whoever runs the project to invite you');
    if (e.code === 'over_email_send_rate_limit' || status === 429) return new OcrError('invalid_state', `the project refused ${doing}: too many requests (${e.message})`, 'wait a minute and try again');
    // an answer that is not Supabase Auth's JSON: something else lives at that URL
    if (e.name === 'AuthUnknownError') return new OcrError('invalid_input', `there is no Supabase Auth at ${where}`, 'check the project URL: https://<project>.supabase.co');
    if (e.name === 'AuthRetryableFetchError') {
      if (status === 0) return new OcrError('db_unreachable', `cannot reach the project's Auth at ${where} while ${doing}: ${e.message}`, 'check the project URL and the network');
      return new OcrError('db_unreachable', `the project's Auth at ${where} failed while ${doing} (${status})`, 'try again in a moment');
    }
    if (status === 401 || e.code === 'no_api_key' || (e.code === 'bad_jwt' && /api key/i.test(e.message))) {
      return new OcrError('not_authorized', `the project refused the anon key (${e.message})`, 'copy the anon (or publishable) key again from Project Settings → API');
    }
    if (status === 404) return new OcrError('invalid_input', `there is no Supabase Auth at ${where}`, 'check the project URL: https://<project>.supabase.co');
    if (e.code === 'refresh_token_not_found' || e.code === 'session_not_found' || e.code === 'refresh_token_already_used') {
      return new OcrError('not_authorized', 'the sign-in has ended', 'run "OCR: Connect to Supabase…" and sign in again');
    }
    return new OcrError('not_authorized', `${doing} failed: ${e.message}${e.code ? ` (${e.code})` : ''}`);
  }
}

function userOf(session: Session | null): SignedInUser {
  if (!session) throw new OcrError('not_authorized', 'the project answered without a session', 'confirm the email address first, then sign in');
  return { id: session.user.id, email: session.user.email ?? null };
}
