// `ocr token create|list|revoke`: worker tokens, for workers that reach the queue only through the project's API
// (`ocr worker --api URL` with OCR_WORKER_TOKEN). A token is printed once; the database keeps its SHA-256.
import { type Command, InvalidArgumentError } from 'commander';
import { shortId, timeAgo } from '../../domain';
import { OcrError } from '../store/errors';
import { PostgresStore } from '../store/postgres';
import type { Store } from '../store/store';
import { opsApiUrl } from '../teams/project-url';
import type { Team, TeamAdmin, WorkerToken } from '../teams/team-admin';
import type { CliContext } from './context';
import { plain, table } from './format';

/** The store and its team administration: teams and tokens live in the PostgreSQL database itself. */
export async function teamAdmin(ctx: CliContext): Promise<{ store: Store; admin: TeamAdmin }> {
  const store = await ctx.openStore();
  if (!(store instanceof PostgresStore)) {
    throw new OcrError('invalid_input', 'teams and worker tokens are kept in the PostgreSQL database', 'give --db the database\'s postgres:// URL');
  }
  return { store, admin: store.teams() };
}

function nameOption(value: string): string {
  const name = value.trim();
  if (name.length === 0 || name.length > 100) {
    throw new InvalidArgumentError(`--name ${JSON.stringify(value)}: give 1 to 100 characters, such as the machine the token is for`);
  }
  return name;
}

function sessionsOption(value: string): string[] {
  const ids = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0 || ids.length > 1000 || new Set(ids).size !== ids.length) {
    throw new InvalidArgumentError(`--sessions ${JSON.stringify(value)}: give 1 to 1000 distinct session ids (or their first characters), separated by commas`);
  }
  return ids;
}

/** The sessions named by --sessions, as full ids; a wrong one is named with the flag. */
async function resolveSessions(store: Store, texts: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const text of texts) {
    try {
      ids.push(await store.resolveId('session', text));
    } catch (e) {
      if (!(e instanceof OcrError)) throw e;
      throw new OcrError(e.code, `--sessions: ${e.message}`, e.hint);
    }
  }
  return ids;
}

const whose = (team: Team | undefined): string => (team ? `team "${plain(team.name)}"` : 'the sessions of no team (those of database logins)');

export function registerTokenCommand(program: Command, ctx: CliContext): void {
  const token = program
    .command('token')
    .description("worker tokens: what a worker that reaches the queue through the project's API (ocr worker --api) holds instead of the database's password");

  token
    .command('create')
    .description('make a worker token and print it, this once')
    .requiredOption('--name <name>', 'what it is for, such as the machine', nameOption)
    .option('--team <team>', "the team whose sessions its workers serve (its name or id); without it, the sessions of no team")
    .option('--sessions <ids>', 'only these sessions of the team (comma-separated ids or their first characters)', sessionsOption)
    .action(async (o: { name: string; team?: string; sessions?: string[] }) => {
      const { store, admin } = await teamAdmin(ctx);
      const team = o.team === undefined ? undefined : await admin.resolveTeam(o.team);
      const sessions = o.sessions ? await resolveSessions(store, o.sessions) : null;
      const made = await admin.createToken({ name: o.name, teamId: team?.id ?? null, sessions });
      const api = opsApiUrl(ctx.db()) ?? 'https://<project-ref>.supabase.co/functions/v1/ops-api';
      const scope = sessions ? `${sessions.length} of its sessions (${sessions.map(shortId).join(', ')})` : team ? 'every session of it' : 'every one of them';
      ctx.print(
        [
          `created worker token ${shortId(made.id)} "${plain(o.name)}" for ${whose(team)}: ${scope}`,
          made.token,
          'It is shown this once: the database keeps only its SHA-256. Start a worker with it (from the environment, it stays',
          'off the command line):',
          `  OCR_WORKER_TOKEN=<the token> ocr worker --api ${api}`,
          `  ocr worker --api ${api} --token <the token>`,
          `Revoke it with \`ocr token revoke ${shortId(made.id)}\`.`,
        ].join('\n'),
        { id: made.id, token: made.token, name: o.name, team_id: team?.id ?? null, sessions },
      );
    });

  token
    .command('list')
    .description('the worker tokens (never the tokens themselves): their team, sessions, when last used, whether revoked')
    .option('--team <team>', 'only the tokens of this team (its name or id)')
    .action(async (o: { team?: string }) => {
      const { admin } = await teamAdmin(ctx);
      const team = o.team === undefined ? undefined : await admin.resolveTeam(o.team);
      const [tokens, teams] = await Promise.all([admin.listTokens(team?.id ?? null), admin.listTeams()]);
      if (tokens.length === 0) {
        ctx.print('no worker tokens yet; make one with `ocr token create --name NAME`', tokens);
        return;
      }
      const teamName = (t: WorkerToken) => (t.team_id ? plain(teams.find((x) => x.id === t.team_id)?.name ?? shortId(t.team_id)) : '-');
      ctx.print(
        table(
          ['ID', 'NAME', 'TEAM', 'SESSIONS', 'CREATED', 'LAST USED', 'STATE'],
          tokens.map((t) => [
            shortId(t.id),
            plain(t.name, 40),
            teamName(t),
            t.sessions ? t.sessions.map(shortId).join(',') : 'all',
            timeAgo(t.created_at),
            t.last_used_at ? timeAgo(t.last_used_at) : 'never',
            t.revoked_at ? `revoked ${timeAgo(t.revoked_at)}` : 'active',
          ]),
        ),
        tokens,
      );
    });

  token
    .command('revoke')
    .description("revoke a worker token: its workers' next call is refused, and their runs go back to the queue")
    .argument('<id>', 'the token id (or its first characters), as `ocr token list` shows it')
    .action(async (id: string) => {
      const { admin } = await teamAdmin(ctx);
      const t = await admin.revokeToken(await admin.resolveTokenId(id));
      ctx.print(`revoked worker token ${shortId(t.id)} "${plain(t.name)}": its workers are refused from their next call on`, t);
    });
}
