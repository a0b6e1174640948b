// `ocr token` and `ocr team` as the database's owner runs them: on a plain PostgreSQL (tokens for the sessions of no
// team) and on a Supabase-shaped one (teams, members by email, tokens of a team).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../store/testing';
import { createSupabaseDatabase, createUser, type SupabaseDatabase } from '../store/supabase.test-support';
import { refused, runOcr } from './cli.test-support';

let plainDb: Awaited<ReturnType<typeof createTestDatabase>>;
let supa: SupabaseDatabase;

beforeAll(async () => {
  [plainDb, supa] = await Promise.all([createTestDatabase('ocr_token_cli'), createSupabaseDatabase('ocr_team_cli')]);
});

afterAll(async () => {
  await plainDb?.drop();
  await supa?.drop();
});

async function sql<T extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

const on = (url: string) => ({ env: { OCR_DATABASE_URL: url } });

describe('ocr token', () => {
  it('create prints the token once and how a worker uses it; list never shows it; revoke refuses it from then on', async () => {
    const made = await runOcr(['token', 'create', '--name', 'build-box-1'], on(plainDb.url));
    expect(made.code, made.stderr).toBe(0);
    const tokens = made.stdout.match(/ocrw_[0-9a-f]{64}/g) ?? [];
    expect(tokens.length).toBe(1);
    const token = tokens[0]!;
    const id = /created worker token ([0-9a-f]{8}) "build-box-1" for the sessions of no team/.exec(made.stdout)?.[1];
    expect(id).toBeTruthy();
    expect(made.stdout).toContain('OCR_WORKER_TOKEN=<the token> ocr worker --api https://<project-ref>.supabase.co/functions/v1/ops-api');
    expect(made.stdout).toContain(`ocr token revoke ${id}`);

    const listed = await runOcr(['--json', 'token', 'list'], on(plainDb.url));
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).not.toContain(token.slice(5));
    const rows = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    expect(rows).toEqual([expect.objectContaining({ name: 'build-box-1', team_id: null, sessions: null, revoked_at: null })]);
    expect(Object.keys(rows[0]!)).not.toContain('token_hash');
    const human = await runOcr(['token', 'list'], on(plainDb.url));
    expect(human.stdout).toMatch(new RegExp(`^${id}\\s+build-box-1\\s+-\\s+all\\s+.*\\s+never\\s+active$`, 'm'));

    // what the API asks on each call: known until revoked
    expect(await sql(plainDb.url, 'select name from ops.worker_token_identity($1)', [token])).toEqual([{ name: 'build-box-1' }]);
    const revoked = await runOcr(['token', 'revoke', id!], on(plainDb.url));
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked worker token [0-9a-f]{8} "build-box-1"/);
    await expect(sql(plainDb.url, 'select name from ops.worker_token_identity($1)', [token])).rejects.toThrow(/unknown or revoked/);
    expect((await runOcr(['token', 'list'], on(plainDb.url))).stdout).toMatch(/build-box-1 .* revoked [0-9.]+ m?s ago$/m);
  });

  it('--sessions narrows a token to sessions of its team, named by their first characters', async () => {
    const [s] = await sql<{ id: string }>(plainDb.url, `select id from ops.create_session('narrow')`);
    const made = await runOcr(['--json', 'token', 'create', '--name', 'narrow', '--sessions', s!.id.slice(0, 8)], on(plainDb.url));
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({ sessions: [s!.id], team_id: null, token: expect.stringMatching(/^ocrw_/) });
  });

  it('refuses wrong input in one line naming the flag or argument, and changes nothing', async () => {
    const before = await sql(plainDb.url, 'select count(*)::int as n from ops.worker_tokens');
    for (const [args, line, code] of [
      [['token', 'create', '--name', '  '], /^ocr: --name "  ": give 1 to 100 characters/, 2],
      [['token', 'create'], /^ocr: --name: required/, 2],
      [['token', 'create', '--name', 'x', '--sessions', ','], /^ocr: --sessions ",": give 1 to 1000 distinct session ids/, 2],
      [['token', 'create', '--name', 'x', '--sessions', 'zz!'], /^ocr: --sessions: session: "zz!" is not a session id/, 1],
      [['token', 'create', '--name', 'x', '--sessions', '00000000'], /^ocr: --sessions: session 00000000 does not exist/, 1],
      [['token', 'create', '--name', 'x', '--team', 'nope'], /^ocr: team "nope" does not exist \(list teams with `ocr team list`\)/, 1],
      [['token', 'revoke', 'xyz!'], /^ocr: <id>: "xyz!" is not a worker token's id/, 1],
      [['token', 'revoke', '0000abcd'], /^ocr: worker token 0000abcd does not exist/, 1],
    ] as const) {
      refused(await runOcr([...args], on(plainDb.url)), line, code);
    }
    expect(await sql(plainDb.url, 'select count(*)::int as n from ops.worker_tokens')).toEqual(before);
  });

  it('a login role that is not the database owner may not make tokens', async () => {
    const role = `ocr_t_tokcli_${Date.now().toString(36)}`;
    await sql(plainDb.url, `create role ${role} login in role ocr_client`);
    try {
      const url = new URL(plainDb.url);
      url.username = role;
      refused(await runOcr(['token', 'create', '--name', 'mine'], on(url.toString())), /^ocr: permission denied for function create_worker_token/);
    } finally {
      await sql(plainDb.url, `drop role ${role}`);
    }
  });
});

describe('ocr team', () => {
  it('creates a team, adds its owner by email, makes a token for it, and keeps a team from losing its last owner', async () => {
    await runOcr(['db', 'migrate'], on(supa.ownerUrl));
    const superuser = new pg.Pool({ connectionString: supa.url, max: 1 });
    const ann = await createUser(superuser, 'ann@example.com');
    await superuser.end();

    const created = await runOcr(['team', 'create', 'platform'], on(supa.ownerUrl));
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^created team [0-9a-f]{8} "platform"; add its owner with `ocr team add [0-9a-f]{8} USER --role owner`/);
    const added = await runOcr(['team', 'add', 'platform', 'ANN@example.com', '--role', 'owner'], on(supa.ownerUrl));
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toBe(`${ann} is an owner of team "platform"\n`);
    const list = await runOcr(['team', 'list'], on(supa.ownerUrl));
    expect(list.stdout).toMatch(new RegExp(`^[0-9a-f]{8}\\s+platform\\s+${ann}\\s+owner\\s+`, 'm'));

    const [team] = await sql<{ id: string }>(supa.url, `select id from ops.teams where name = 'platform'`);
    const [s] = await sql<{ id: string }>(supa.ownerUrl, `select id from ops.create_session('team work', p_team_id => $1)`, [team!.id]);
    const token = await runOcr(['--json', 'token', 'create', '--name', 'ci', '--team', 'platform'], on(supa.ownerUrl));
    expect(token.code, token.stderr).toBe(0);
    expect(JSON.parse(token.stdout)).toMatchObject({ team_id: team!.id, sessions: null });
    // another team's session is refused for a team's token
    const [noTeam] = await sql<{ id: string }>(supa.ownerUrl, `select id from ops.create_session('no team')`);
    refused(await runOcr(['token', 'create', '--name', 'x', '--team', 'platform', '--sessions', noTeam!.id], on(supa.ownerUrl)), /^ocr: sessions: .* is not a session of team /);
    expect((await runOcr(['--json', 'token', 'create', '--name', 'one', '--team', team!.id.slice(0, 6), '--sessions', s!.id], on(supa.ownerUrl))).code).toBe(0);

    refused(await runOcr(['team', 'add', 'platform', 'ann@example.com', '--role', 'boss'], on(supa.ownerUrl)), /^ocr: --role "boss": use owner, member or viewer/, 2);
    refused(await runOcr(['team', 'add', 'platform', 'nobody@example.com'], on(supa.ownerUrl)), /^ocr: user "nobody@example.com" is not a user of this project/);
    refused(await runOcr(['team', 'add', 'platform', 'ann'], on(supa.ownerUrl)), /^ocr: user: "ann" is neither a user's id nor an email/);
    refused(await runOcr(['team', 'add', 'nope', 'ann@example.com'], on(supa.ownerUrl)), /^ocr: team "nope" does not exist/);
    refused(await runOcr(['team', 'remove', 'platform', 'ann@example.com'], on(supa.ownerUrl)), /is its last owner \(make another member owner first\)$/m);
    refused(await runOcr(['team', 'create', ' '], on(supa.ownerUrl)), /^ocr: <name> " ": give 1 to 100 characters/, 2);
  });
});
