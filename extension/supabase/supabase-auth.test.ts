// Signing in with supabase-js against a stand-in for a project's Auth (GoTrue's routes, tokens minted with the
// project's secret): email and password, a one-time code, the session kept in the secret store and found again by a
// new client, refreshed before it expires, signed out; and what a person is told when something is wrong.
import http from 'node:http';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type ProjectGateway } from '../../worker/api/api-client-store.test-support';
import { freePort } from '../../worker/api/ops-api.test-support';
import { OcrError } from '../../worker/store/errors';
import { projectUrl, type SecretStore, SupabaseAuth } from './supabase-auth';

const secret = 'a-test-secret-of-the-project-that-is-long-enough';
const users = [{ id: '7d1f2a36-6a4c-4f0e-9a57-3f0c1c9d2b11', email: 'a@example.com', password: 'correct horse' }];
let gateway: ProjectGateway;
let shortLived: ProjectGateway;

class MapSecrets implements SecretStore {
  readonly map = new Map<string, string>();
  async get(key: string) {
    return this.map.get(key);
  }
  async store(key: string, value: string) {
    this.map.set(key, value);
  }
  async delete(key: string) {
    this.map.delete(key);
  }
}

beforeAll(async () => {
  gateway = await startGateway({ functionOrigin: 'http://127.0.0.1:9', jwtSecret: secret, users });
  // tokens that expire within supabase-js's refresh margin: every look at the session refreshes it
  shortLived = await startGateway({ functionOrigin: 'http://127.0.0.1:9', jwtSecret: secret, users, expiresIn: 20 });
});

afterAll(async () => {
  await gateway?.stop();
  await shortLived?.stop();
});

const authOf = (g: ProjectGateway, secrets = new MapSecrets(), anonKey = g.anonKey) => new SupabaseAuth({ url: g.url, anonKey }, secrets, { autoRefresh: false });

async function refusal(work: Promise<unknown>): Promise<OcrError> {
  const e = await work.then(() => undefined, (error: unknown) => error);
  expect(e).toBeInstanceOf(OcrError);
  return e as OcrError;
}

describe('signing in to a Supabase project', () => {
  it('with email and password: the access token is the user\'s, kept in the secret store and found by a new client', async () => {
    const secrets = new MapSecrets();
    const auth = authOf(gateway, secrets);
    expect(await auth.user()).toBeUndefined();
    expect(await auth.signInWithPassword('a@example.com', 'correct horse')).toEqual({ id: users[0]!.id, email: 'a@example.com' });
    const token = await auth.accessToken();
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret));
    expect(payload).toMatchObject({ sub: users[0]!.id, role: 'authenticated', email: 'a@example.com' });
    const key = `ocr.supabase.auth.${new URL(gateway.url).host}`;
    expect([...secrets.map.keys()]).toEqual([key]);
    expect(secrets.map.get(key)).toContain(token);

    const again = authOf(gateway, secrets);
    expect(await again.user()).toEqual({ id: users[0]!.id, email: 'a@example.com' });
    expect(await again.accessToken()).toBe(token);
    auth.dispose();
    again.dispose();
  });

  it('with a one-time code sent by email; a wrong code is refused', async () => {
    const auth = authOf(gateway);
    await auth.sendCode('a@example.com');
    const code = gateway.codes.get('a@example.com');
    expect(code).toMatch(/^\d{6}$/);
    expect((await refusal(auth.verifyCode('a@example.com', '000000'))).line).toBe('the code is wrong or has expired (ask for a new code)');
    expect(await auth.verifyCode('a@example.com', code!)).toEqual({ id: users[0]!.id, email: 'a@example.com' });
    expect(gateway.authCalls.filter((c) => c.startsWith('POST /auth/v1/otp'))).toHaveLength(1);
    auth.dispose();
  });

  it('a token about to expire is refreshed before it is handed out; refresh() gets a new one now', async () => {
    const secrets = new MapSecrets();
    const auth = authOf(shortLived, secrets);
    await auth.signInWithPassword('a@example.com', 'correct horse');
    const first = JSON.parse([...secrets.map.values()][0]!).access_token as string;
    const before = shortLived.authCalls.filter((c) => c.includes('grant_type=refresh_token')).length;
    const handed = await auth.accessToken();
    expect(shortLived.authCalls.filter((c) => c.includes('grant_type=refresh_token')).length).toBe(before + 1);
    expect(handed).not.toBe(first);
    await auth.refresh();
    expect(await auth.accessToken()).not.toBe(handed);
    auth.dispose();
  });

  it('signing out forgets the session', async () => {
    const secrets = new MapSecrets();
    const auth = authOf(gateway, secrets);
    await auth.signInWithPassword('a@example.com', 'correct horse');
    await auth.signOut();
    expect(secrets.map.size).toBe(0);
    expect(await auth.user()).toBeUndefined();
    expect((await refusal(auth.accessToken())).line).toBe(`not signed in to ${gateway.url} (run "OCR: Connect to Supabase…" and sign in)`);
    auth.dispose();
  });

  it('says what is wrong: the password, the anon key, the URL, the network', async () => {
    expect((await refusal(authOf(gateway).signInWithPassword('a@example.com', 'wrong'))).line).toBe(
      'the email or the password is wrong (try again, or sign in with a one-time code)',
    );
    const badKey = await refusal(authOf(gateway, new MapSecrets(), 'anon.not-the-key-of-this-project').signInWithPassword('a@example.com', 'correct horse'));
    expect(badKey.line).toMatch(/^the project refused the anon key \(Invalid API key\) \(copy the anon \(or publishable\) key again/);

    const plain = http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('not here'));
    const port = await freePort();
    await new Promise<void>((resolve) => plain.listen(port, '127.0.0.1', resolve));
    try {
      const e = await refusal(new SupabaseAuth({ url: `http://127.0.0.1:${port}`, anonKey: gateway.anonKey }, new MapSecrets()).signInWithPassword('a@example.com', 'x'));
      expect(e.line).toBe(`there is no Supabase Auth at http://127.0.0.1:${port}/auth/v1 (check the project URL: https://<project>.supabase.co)`);
    } finally {
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
    const gone = await refusal(new SupabaseAuth({ url: `http://127.0.0.1:${port}`, anonKey: gateway.anonKey }, new MapSecrets()).signInWithPassword('a@example.com', 'x'));
    expect(gone.code).toBe('db_unreachable');
    expect(gone.message).toMatch(new RegExp(`^cannot reach the project's Auth at http://127.0.0.1:${port}/auth/v1 while signing in`));

    expect(() => projectUrl('abcd.supabase.co')).toThrow('project URL: "abcd.supabase.co" is not a URL');
    expect(() => projectUrl('https://user:pw@abcd.supabase.co')).toThrow(/without credentials/);
    expect(projectUrl(' https://abcd.supabase.co/ ')).toBe('https://abcd.supabase.co');
  });
});
