// Test support: a database on the test server shaped like what migrations find on a Supabase project, without Supabase's
// services. The roles (anon, authenticated, service_role; authenticator, the login role PostgREST connects as), the
// auth schema with auth.uid(), auth.role(), auth.email() and auth.jwt() as Supabase defines them (reading the JWT claims
// PostgREST puts in the transaction), a small auth.users, the extensions schema with pgcrypto, the supabase_realtime
// publication already holding a table of the project's own, and the default privileges on public for the API roles.
// The database is owned by a role of its own that is no superuser but may create roles, as `postgres` is on Supabase;
// migrations run as that role.
//
// A request as a user is then what PostgREST and the edge runtime do: a transaction with `set local role
// authenticated` and the claims in request.jwt.claims (asUser); asAnon and asServiceRole likewise.
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, testServerUrl } from './testing';

export interface SupabaseDatabase {
  name: string;
  /** as the test server's superuser */
  url: string;
  /** as the database's owner: what `supabase db push` connects as (the role `postgres` of a project) */
  ownerUrl: string;
  /** as authenticator: what PostgREST connects as before it sets the request's role */
  authenticatorUrl: string;
  owner: string;
  drop(): Promise<void>;
}

const urlAs = (base: string, user: string): string => {
  const url = new URL(base);
  url.username = user;
  url.password = '';
  return url.toString();
};

async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

// Roles belong to the whole server: made once, never dropped (other test files use them at the same time). Two files
// making them at once: one of them finds the other's.
const apiRoles = `
do $$
declare
  v record;
begin
  for v in select * from (values ('anon', 'nologin noinherit'), ('authenticated', 'nologin noinherit'),
                                 ('service_role', 'nologin noinherit bypassrls'), ('authenticator', 'login noinherit')) r(name, attrs) loop
    if not exists (select 1 from pg_roles where rolname = v.name) then
      begin
        execute format('create role %I %s', v.name, v.attrs);
      exception when duplicate_object or unique_violation then
        null;
      end;
    end if;
  end loop;
  for v in select unnest(array['anon', 'authenticated', 'service_role']) as name loop
    if not pg_has_role('authenticator', v.name, 'member') then
      begin
        execute format('grant %I to authenticator', v.name);
      exception when others then
        null; -- granted by another file meanwhile
      end;
    end if;
  end loop;
end $$;
`;

// What a Supabase project's database holds before its own migrations: Supabase's own definitions of the auth helpers.
const projectShape = (owner: string) => `
create schema auth;
create table auth.users (
  id uuid primary key default gen_random_uuid(),
  email text unique,
  created_at timestamptz not null default now()
);
create function auth.uid() returns uuid language sql stable as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
create function auth.role() returns text language sql stable as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
create function auth.email() returns text language sql stable as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;
create function auth.jwt() returns jsonb language sql stable as $$
  select
    coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;
grant usage on schema auth to anon, authenticated, service_role, ${owner};
grant execute on all functions in schema auth to anon, authenticated, service_role;
grant select, references on auth.users to ${owner};
grant all on auth.users to service_role;

create schema extensions;
create extension pgcrypto with schema extensions;
grant usage on schema extensions to anon, authenticated, service_role;

grant usage on schema public to anon, authenticated, service_role;
grant create on schema public to ${owner};
alter default privileges for role ${owner} in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges for role ${owner} in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges for role ${owner} in schema public grant all on sequences to anon, authenticated, service_role;

-- the project's own table, published for Realtime before ops existed
create table public.messages (id bigint generated always as identity primary key, body text not null);
alter table public.messages owner to ${owner};
create publication supabase_realtime;
alter publication supabase_realtime add table public.messages;
alter publication supabase_realtime owner to ${owner};
`;

export async function createSupabaseDatabase(prefix = 'ocr_supa'): Promise<SupabaseDatabase> {
  const admin = testServerUrl();
  const owner = `${prefix}_owner_${randomBytes(4).toString('hex')}`;
  await withClient(admin, async (c) => {
    await c.query(apiRoles);
    // as `postgres` on Supabase: no superuser; creates roles, bypasses row-level security, may act as the API roles
    await c.query(`create role ${owner} login createrole bypassrls`);
    await c.query(`grant anon, authenticated, service_role to ${owner}`);
  });
  const db = await createTestDatabase(prefix);
  await withClient(admin, (c) => c.query(`alter database ${db.name} owner to ${owner}`));
  await withClient(db.url, (c) => c.query(projectShape(owner)));
  return {
    name: db.name,
    url: db.url,
    ownerUrl: urlAs(db.url, owner),
    authenticatorUrl: urlAs(db.url, 'authenticator'),
    owner,
    async drop() {
      await db.drop();
      await withClient(admin, (c) => c.query(`drop role if exists ${owner}`));
    },
  };
}

type Queryable = pg.Pool | pg.Client;

/** A user of the project (a row of auth.users), as signing up makes one; answers its id. */
export async function createUser(db: Queryable, email: string): Promise<string> {
  const id = randomUUID();
  await db.query('insert into auth.users (id, email) values ($1, $2)', [id, email]);
  return id;
}

/**
 * Runs `work` in one transaction with the request's role and JWT claims set, as PostgREST does: the role for the
 * transaction (`set local role`), the claims in request.jwt.claims. Rolls back when `work` throws.
 */
export async function asRole<T>(
  pool: pg.Pool,
  role: 'anon' | 'authenticated' | 'service_role',
  claims: Record<string, unknown>,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`set local role ${role}`);
    await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ ...claims, role })]);
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (e) {
    await client.query('rollback').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/** As a signed-in user (role authenticated, `sub` = the user's id). */
export const asUser = <T>(pool: pg.Pool, userId: string, work: (client: pg.PoolClient) => Promise<T>, email?: string): Promise<T> =>
  asRole(pool, 'authenticated', { sub: userId, aud: 'authenticated', ...(email ? { email } : {}) }, work);

/** With the project's anon key: nobody signed in. */
export const asAnon = <T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> => asRole(pool, 'anon', {}, work);

/** With the service role key: the API's own access. */
export const asServiceRole = <T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> =>
  asRole(pool, 'service_role', {}, work);
