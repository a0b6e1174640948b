// Test support: a Supabase-shaped database with the migrations pushed, two teams (user A owns one, user B the other),
// a worker token for A's team, and the ops-api function served by Deno in front of it.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { asUser, createSupabaseDatabase, createUser, type SupabaseDatabase } from '../store/supabase.test-support';
import { type OpsApi, startOpsApi, userJwt } from './ops-api.test-support';

export interface OpsApiFixture {
  db: SupabaseDatabase;
  /** the database's owner: what tests check the database with */
  store: PostgresStore;
  pool: pg.Pool;
  api: OpsApi;
  secret: string;
  users: { a: string; b: string };
  teams: { a: string; b: string };
  jwt: { a: string; b: string };
  /** a worker token for team A */
  token: string;
  tokenId: string;
  /** makes another worker token for team A (narrowed to `sessions` when given) */
  newToken(name: string, sessions?: string[]): Promise<{ id: string; token: string }>;
  revoke(tokenId: string): Promise<void>;
  /** a session of team A, created as user A */
  sessionOfA(title?: string, lanes?: string[]): Promise<string>;
  close(): Promise<void>;
}

export async function opsApiFixture(options: { streamSeconds?: number } = {}): Promise<OpsApiFixture> {
  const db = await createSupabaseDatabase();
  const store = await openStore(db.ownerUrl);
  const pool = new pg.Pool({ connectionString: db.ownerUrl, max: 4 });
  const superuser = new pg.Pool({ connectionString: db.url, max: 1 });
  const users = { a: await createUser(superuser, 'a@example.com'), b: await createUser(superuser, 'b@example.com') };
  await superuser.end();
  const team = async (user: string, name: string) =>
    asUser(pool, user, async (c) => (await c.query<{ id: string }>('select id from ops.create_team($1)', [name])).rows[0]!.id);
  const teams = { a: await team(users.a, 'team a'), b: await team(users.b, 'team b') };
  const newToken = (name: string, sessions?: string[]) =>
    asUser(pool, users.a, async (c) => (await c.query<{ id: string; token: string }>('select * from ops.create_worker_token($1, $2, $3)', [teams.a, name, sessions ?? null])).rows[0]!);
  const first = await newToken('box-1');
  const secret = randomBytes(32).toString('hex');
  const api = await startOpsApi({ databaseUrl: db.ownerUrl, jwtSecret: secret, streamSeconds: options.streamSeconds });
  const jwt = { a: await userJwt(secret, users.a, { email: 'a@example.com' }), b: await userJwt(secret, users.b, { email: 'b@example.com' }) };
  return {
    db,
    store,
    pool,
    api,
    secret,
    users,
    teams,
    jwt,
    token: first.token,
    tokenId: first.id,
    newToken,
    revoke: (id) => asUser(pool, users.a, async (c) => void (await c.query('select ops.revoke_worker_token($1)', [id]))),
    sessionOfA: (title = 'team a work', lanes = ['A', 'B', 'C', 'D']) =>
      asUser(pool, users.a, async (c) => (await c.query<{ id: string }>('select id from ops.create_session($1, $2, $3, null, null, null, null, null, $4)', [title, '', lanes, teams.a])).rows[0]!.id),
    async close() {
      await api.stop();
      await pool.end();
      await store.close();
      await db.drop();
    },
  };
}
