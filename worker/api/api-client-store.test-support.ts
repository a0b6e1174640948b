// Test support: a Supabase project as the editor reaches it, without Supabase's services. One loopback server plays the
// project's gateway: /auth/v1/… answers as GoTrue does for the calls supabase-js makes to sign in (password, one-time
// code, refresh, user, sign-out), with access tokens minted with the project's JWT secret; /functions/v1/… is passed
// on to the ops-api function served by Deno, streams included, and every such connection can be cut at once (a forced
// disconnect). Behind it: a Supabase-shaped database with the migrations, users A and B each owning a team, and a
// worker token for A's team. Used by the vitest suites and by the UI tests (whose bundles live in dist/, so paths are
// found from the repository root, not from this file).
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { SignJWT } from 'jose';
import pg from 'pg';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { asUser, createSupabaseDatabase, type SupabaseDatabase } from '../store/supabase.test-support';
import { freePort, startOpsApi, userJwt } from './ops-api.test-support';

/** The ops-api function served by Deno from the npm package, on a free loopback port; its URL is its root. */
async function serveFunction(databaseUrl: string, jwtSecret: string, streamSeconds?: number): Promise<{ origin: string; output: string[]; stop(): Promise<void> }> {
  const api = await startOpsApi({ databaseUrl, jwtSecret, ...(streamSeconds ? { streamSeconds } : {}) });
  return { origin: new URL(api.url).origin, output: api.output, stop: () => api.stop() };
}

export interface ProjectUser {
  id: string;
  email: string;
  password: string;
}

export interface ProjectGateway {
  /** the project's URL, as Supabase shows it: what supabase-js and "Connect to Supabase…" take */
  url: string;
  /** the function's URL through the gateway: <url>/functions/v1/ops-api */
  functionUrl: string;
  anonKey: string;
  /** the one-time codes sent, by email */
  codes: Map<string, string>;
  /** what reached /auth/v1 (method and path), in order */
  authCalls: string[];
  /** ends every connection to the function open now: streams break mid-way, as on a lost network */
  cut(): number;
  /** how many connections to the function are open */
  open(): number;
  stop(): Promise<void>;
}

interface Session {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
  expires_at: number;
  user: Record<string, unknown>;
}

/** A stand-in for a project's gateway: GoTrue's sign-in routes and the function behind /functions/v1. */
export async function startGateway(options: {
  functionOrigin: string;
  jwtSecret: string;
  users: ProjectUser[];
  anonKey?: string;
  expiresIn?: number;
  /** routes of the function answered as an older function would, with 404 no route (such as `changes/stream`) */
  withoutRoutes?: string[];
}): Promise<ProjectGateway> {
  const anonKey = options.anonKey ?? `anon.${randomBytes(12).toString('hex')}`;
  const expiresIn = options.expiresIn ?? 3600;
  const codes = new Map<string, string>();
  const refreshTokens = new Map<string, ProjectUser>();
  const authCalls: string[] = [];
  const upstream = new URL(options.functionOrigin);
  const proxied = new Set<Socket>();

  const userJson = (u: ProjectUser) => ({ id: u.id, aud: 'authenticated', role: 'authenticated', email: u.email, app_metadata: { provider: 'email' }, user_metadata: {}, created_at: new Date(0).toISOString() });
  const session = async (u: ProjectUser): Promise<Session> => {
    const refresh = randomBytes(16).toString('hex');
    refreshTokens.set(refresh, u);
    return {
      // as GoTrue's: the user's claims and the auth session's own id, so no two tokens are alike
      access_token: await new SignJWT({ role: 'authenticated', aud: 'authenticated', email: u.email, session_id: randomUUID() })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(u.id)
        .setIssuedAt()
        .setExpirationTime(`${expiresIn}s`)
        .sign(new TextEncoder().encode(options.jwtSecret)),
      refresh_token: refresh,
      token_type: 'bearer',
      expires_in: expiresIn,
      expires_at: Math.floor(Date.now() / 1000) + expiresIn,
      user: userJson(u),
    };
  };
  const send = (res: http.ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  const refuse = (res: http.ServerResponse, status: number, code: string, msg: string) => send(res, status, { code: status, error_code: code, msg });
  const readBody = (req: http.IncomingMessage) =>
    new Promise<Record<string, unknown>>((resolve) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        try {
          resolve(text ? (JSON.parse(text) as Record<string, unknown>) : {});
        } catch {
          resolve({});
        }
      });
    });
  const userOf = async (req: http.IncomingMessage): Promise<ProjectUser | undefined> => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sub?: string };
      return options.users.find((u) => u.id === claims.sub);
    } catch {
      return undefined;
    }
  };

  const auth = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    authCalls.push(`${req.method} ${url.pathname}${url.search}`);
    if (req.headers.apikey !== anonKey) return refuse(res, 401, 'no_api_key', 'Invalid API key');
    const body = await readBody(req);
    const route = url.pathname.slice('/auth/v1'.length);
    const byEmail = (email: unknown) => options.users.find((u) => u.email === String(email ?? '').toLowerCase());
    if (req.method === 'POST' && route === '/token' && url.searchParams.get('grant_type') === 'password') {
      const u = byEmail(body.email);
      if (!u || u.password !== body.password) return refuse(res, 400, 'invalid_credentials', 'Invalid login credentials');
      return send(res, 200, await session(u));
    }
    if (req.method === 'POST' && route === '/token' && url.searchParams.get('grant_type') === 'refresh_token') {
      const u = refreshTokens.get(String(body.refresh_token ?? ''));
      if (!u) return refuse(res, 400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
      refreshTokens.delete(String(body.refresh_token));
      return send(res, 200, await session(u));
    }
    if (req.method === 'POST' && route === '/otp') {
      const u = byEmail(body.email);
      if (u) codes.set(u.email, String(100000 + Math.floor(Math.random() * 900000)));
      // GoTrue answers the same whether or not the address is known
      return send(res, 200, {});
    }
    if (req.method === 'POST' && route === '/verify') {
      const u = byEmail(body.email);
      if (!u || codes.get(u.email) !== String(body.token ?? '')) return refuse(res, 403, 'otp_expired', 'Token has expired or is invalid');
      codes.delete(u.email);
      return send(res, 200, await session(u));
    }
    if (req.method === 'GET' && route === '/user') {
      const u = await userOf(req);
      return u ? send(res, 200, userJson(u)) : refuse(res, 401, 'bad_jwt', 'invalid JWT');
    }
    if (req.method === 'POST' && route === '/logout') {
      res.writeHead(204).end();
      return;
    }
    return refuse(res, 404, 'not_found', `no route ${req.method} ${route}`);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname.startsWith('/auth/v1/')) {
      auth(req, res, url).catch((e: unknown) => send(res, 500, { msg: String(e) }));
      return;
    }
    if (url.pathname !== '/functions/v1/ops-api' && !url.pathname.startsWith('/functions/v1/ops-api/')) {
      // what Supabase answers for a function that is not deployed
      send(res, 404, { code: 'NOT_FOUND', message: 'Requested function was not found' });
      return;
    }
    const route = url.pathname.replace(/^\/functions\/v1\/ops-api\/?/, '');
    if (options.withoutRoutes?.includes(route)) {
      send(res, 404, { ok: false, error: { code: 'not_found', message: `no route ${req.method} /${route}` } });
      return;
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.on('connection', (socket) => {
    proxied.add(socket);
    socket.on('close', () => proxied.delete(socket));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    functionUrl: `${url}/functions/v1/ops-api`,
    anonKey,
    codes,
    authCalls,
    cut() {
      const n = proxied.size;
      for (const s of proxied) s.destroy();
      return n;
    },
    open: () => proxied.size,
    async stop() {
      for (const s of proxied) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface SupabaseProject {
  db: SupabaseDatabase;
  /** the database's owner: what tests check the database with */
  store: PostgresStore;
  pool: pg.Pool;
  secret: string;
  gateway: ProjectGateway;
  users: { a: ProjectUser; b: ProjectUser };
  teams: { a: string; b: string };
  /** access tokens of A and B, as GoTrue would give them */
  jwt: { a: string; b: string };
  /** a worker token for team A */
  token: string;
  /** a session of user A's team, created as A */
  sessionOfA(title: string, options?: { lanes?: string[]; repo?: { repo_id: string; repo_path: string; base_ref: string } }): Promise<string>;
  /** the function's own output */
  functionOutput(): string;
  close(): Promise<void>;
}

/** A Supabase project of two users in two teams, a worker token for A's team, the function and the gateway. */
export async function startSupabaseProject(options: { streamSeconds?: number } = {}): Promise<SupabaseProject> {
  const db = await createSupabaseDatabase('ocr_supa_editor');
  const store = await openStore(db.ownerUrl);
  const pool = new pg.Pool({ connectionString: db.ownerUrl, max: 4 });
  const users = {
    a: { id: randomUUID(), email: 'a@example.com', password: 'password-of-a' },
    b: { id: randomUUID(), email: 'b@example.com', password: 'password-of-b' },
  };
  const superuser = new pg.Pool({ connectionString: db.url, max: 1 });
  for (const u of Object.values(users)) await superuser.query('insert into auth.users (id, email) values ($1, $2)', [u.id, u.email]);
  await superuser.end();
  const team = (user: ProjectUser, name: string) =>
    asUser(pool, user.id, async (c) => (await c.query<{ id: string }>('select id from ops.create_team($1)', [name])).rows[0]!.id);
  const teams = { a: await team(users.a, 'team a'), b: await team(users.b, 'team b') };
  const token = await asUser(pool, users.a.id, async (c) => (await c.query<{ token: string }>('select token from ops.create_worker_token($1, $2)', [teams.a, 'test box'])).rows[0]!.token);
  const secret = randomBytes(32).toString('hex');
  const fn = await serveFunction(db.ownerUrl, secret, options.streamSeconds);
  const gateway = await startGateway({ functionOrigin: fn.origin, jwtSecret: secret, users: [users.a, users.b] });
  const jwt = { a: await userJwt(secret, users.a.id, { email: users.a.email }), b: await userJwt(secret, users.b.id, { email: users.b.email }) };
  return {
    db,
    store,
    pool,
    secret,
    gateway,
    users,
    teams,
    jwt,
    token,
    sessionOfA: (title, o = {}) =>
      asUser(pool, users.a.id, async (c) =>
        (await c.query<{ id: string }>('select id from ops.create_session($1, $2, $3, $4, null, $5, $6, null, $7)', [
          title, '', o.lanes ?? ['A', 'B'], o.repo?.repo_id ?? null, o.repo?.repo_path ?? null, o.repo?.base_ref ?? null, teams.a,
        ])).rows[0]!.id,
      ),
    functionOutput: () => fn.output.join(''),
    async close() {
      await gateway.stop();
      await fn.stop();
      await pool.end();
      await store.close();
      await db.drop();
    },
  };
}
