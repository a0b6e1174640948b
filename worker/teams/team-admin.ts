// Teams and worker tokens from the database's side (`ocr team`, `ocr token`): the functions of
// supabase/migrations/0012_team_access.sql, with what goes in checked here and what comes back checked against the
// shapes below. Who may call them is the database's decision: the role that owns the schema (the admin role the CLI
// connects as) may do everything; a team's owner, signed in through the API, manages that team.
import { z } from 'zod';
import { OcrError, parseInput } from '../store/errors';

/** One statement against the queue's database, answering its rows; the store's errors are already named. */
export type SqlQuery = <R extends Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<R[]>;

const uuid = z.string().uuid();
const timestamp = z.string();

export const TeamRole = z.enum(['owner', 'member', 'viewer']);
export type TeamRole = z.infer<typeof TeamRole>;

/** A row of ops.teams. */
export const Team = z.object({
  id: uuid,
  name: z.string(),
  created_by: uuid.nullable(),
  created_at: timestamp,
});
export type Team = z.infer<typeof Team>;

/** A row of ops.team_members. */
export const TeamMember = z.object({
  team_id: uuid,
  user_id: uuid,
  role: TeamRole,
  added_by: z.string().nullable(),
  added_at: timestamp,
});
export type TeamMember = z.infer<typeof TeamMember>;

/** A worker token as ops.list_worker_tokens answers it: never the token, nor its hash. */
export const WorkerToken = z.object({
  id: uuid,
  team_id: uuid.nullable(),
  name: z.string(),
  sessions: z.array(uuid).nullable(),
  created_by: z.string(),
  created_at: timestamp,
  revoked_at: timestamp.nullable(),
  last_used_at: timestamp.nullable(),
});
export type WorkerToken = z.infer<typeof WorkerToken>;

export const NewWorkerToken = z.object({
  name: z
    .string()
    .trim()
    .min(1, 'a worker token needs a name, such as the machine it is for')
    .max(100, 'at most 100 characters'),
  /** null: a token for the sessions of no team (the database's own) */
  teamId: uuid.nullable(),
  /** null: every session of the team */
  sessions: z.array(uuid).min(1, 'name at least one session, or leave --sessions out for all of them').max(1000, 'at most 1000 sessions').nullable(),
});
export type NewWorkerToken = z.input<typeof NewWorkerToken>;

const CreatedToken = z.object({ id: uuid, token: z.string().regex(/^ocrw_[0-9a-f]{64}$/) });
export type CreatedToken = z.infer<typeof CreatedToken>;

const teamName = z.string().trim().min(1, 'a team needs a name, such as "platform"').max(100, 'at most 100 characters');
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class TeamAdmin {
  constructor(private readonly query: SqlQuery) {}

  async createTeam(name: string): Promise<Team> {
    const n = parseInput(teamName, name, 'name');
    return Team.parse((await this.query('select * from ops.create_team($1)', [n]))[0]);
  }

  /** Every team with its members, by name. */
  async listTeams(): Promise<Array<Team & { members: TeamMember[] }>> {
    const teams = z.array(Team).parse(await this.query('select * from ops.teams order by name, created_at'));
    const members = z.array(TeamMember).parse(await this.query('select * from ops.team_members order by team_id, role, added_at'));
    return teams.map((t) => ({ ...t, members: members.filter((m) => m.team_id === t.id) }));
  }

  /** Adds a user to a team, or gives a member another role. */
  async addMember(teamId: string, userId: string, role: TeamRole): Promise<TeamMember> {
    const r = parseInput(TeamRole, role, 'role');
    const rows = await this.query('select * from ops.add_team_member($1, $2, $3)', [parseInput(uuid, teamId, 'team'), parseInput(uuid, userId, 'user'), r]);
    return TeamMember.parse(rows[0]);
  }

  async removeMember(teamId: string, userId: string): Promise<void> {
    await this.query('select ops.remove_team_member($1, $2)', [parseInput(uuid, teamId, 'team'), parseInput(uuid, userId, 'user')]);
  }

  /** A new worker token: answered once, stored as its SHA-256 only. */
  async createToken(input: NewWorkerToken): Promise<CreatedToken> {
    const t = parseInput(NewWorkerToken, input);
    const rows = await this.query('select * from ops.create_worker_token($1, $2, $3::uuid[])', [t.teamId, t.name, t.sessions]);
    return CreatedToken.parse(rows[0]);
  }

  /** The tokens of a team, or every token (the schema's owner) when none is named; newest first. */
  async listTokens(teamId: string | null = null): Promise<WorkerToken[]> {
    const rows = await this.query('select * from ops.list_worker_tokens($1)', [teamId === null ? null : parseInput(uuid, teamId, 'team')]);
    return z.array(WorkerToken).parse(rows);
  }

  /** Revokes a token: every later call of its workers is refused. Revoking twice changes nothing. */
  async revokeToken(id: string): Promise<WorkerToken> {
    const rows = await this.query('select * from ops.revoke_worker_token($1)', [parseInput(uuid, id, 'token')]);
    return WorkerToken.parse(rows[0]);
  }

  /** A team named by its id, the first characters of its id, or its name (given as `label`: a flag or an argument). */
  async resolveTeam(text: string, label = '--team'): Promise<Team> {
    const t = text.trim();
    const hint = 'list teams with `ocr team list`';
    if (!t) throw new OcrError('invalid_input', `${label}: give the team's name or id`, hint);
    const teams = z.array(Team).parse(await this.query('select * from ops.teams order by created_at'));
    const byId = teams.filter((x) => x.id === t.toLowerCase() || (/^[0-9a-f-]{4,36}$/i.test(t) && x.id.startsWith(t.toLowerCase())));
    const byName = teams.filter((x) => x.name === t);
    const found = byId.length > 0 ? byId : byName;
    if (found.length === 0) throw new OcrError('not_found', `team ${JSON.stringify(t)} does not exist`, hint);
    if (found.length > 1) throw new OcrError('invalid_input', `${label}: ${JSON.stringify(t)} names more than one team`, 'give its id (`ocr team list`)');
    return found[0]!;
  }

  /**
   * A user of the project named by their id or their email (looked up in auth.users, which only a Supabase project
   * has and only its owner may read).
   */
  async resolveUser(text: string): Promise<string> {
    const t = text.trim();
    if (uuidPattern.test(t)) return t.toLowerCase();
    if (!t.includes('@')) {
      throw new OcrError('invalid_input', `user: ${JSON.stringify(t)} is neither a user's id nor an email`, 'give the id from Authentication → Users, or the email they signed up with');
    }
    const known = await this.query<{ t: string | null }>(`select to_regclass('auth.users')::text as t`);
    if (!known[0]?.t) {
      throw new OcrError('invalid_input', `user: ${JSON.stringify(t)}: this database has no auth.users to look an email up in`, "give the user's id");
    }
    const rows = await this.query<{ id: string }>('select id::text as id from auth.users where lower(email) = lower($1)', [t]);
    if (rows.length === 0) throw new OcrError('not_found', `user ${JSON.stringify(t)} is not a user of this project`, 'they sign up first');
    return parseInput(uuid, rows[0]!.id, 'user');
  }

  /** A token named by its id or the first characters of its id (as `ocr token list` shows them). */
  async resolveTokenId(text: string): Promise<string> {
    const t = text.trim().toLowerCase();
    if (!/^[0-9a-f-]{4,36}$/.test(t)) {
      throw new OcrError('invalid_input', `<id>: ${JSON.stringify(text)} is not a worker token's id`, 'give the id `ocr token list` shows');
    }
    const ids = (await this.listTokens()).map((x) => x.id).filter((id) => id.startsWith(t));
    if (ids.length === 0) throw new OcrError('not_found', `worker token ${text} does not exist`, 'list tokens with `ocr token list`');
    if (ids.length > 1) throw new OcrError('invalid_input', `<id>: ${text} matches more than one token`, 'give more characters of the id');
    return ids[0]!;
  }
}
