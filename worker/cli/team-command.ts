// `ocr team create|list|add|remove`: the teams of a Supabase project and who is in them (owner, member, viewer), for
// the database's owner. Signed-in users manage their own teams through the API.
import { type Command, InvalidArgumentError } from 'commander';
import { shortId, timeAgo } from '../../domain';
import { TeamRole } from '../teams/team-admin';
import type { CliContext } from './context';
import { plain, table } from './format';
import { teamAdmin } from './token-command';

function roleOption(value: string): TeamRole {
  const r = TeamRole.safeParse(value.trim());
  if (!r.success) throw new InvalidArgumentError(`--role ${JSON.stringify(value)}: use owner, member or viewer`);
  return r.data;
}

function teamNameArgument(value: string): string {
  const name = value.trim();
  if (name.length === 0 || name.length > 100) throw new InvalidArgumentError(`give 1 to 100 characters, such as "platform"`);
  return name;
}

export function registerTeamCommand(program: Command, ctx: CliContext): void {
  const team = program
    .command('team')
    .description("teams of a Supabase project: who reads and acts on whose sessions (owner: also members and tokens; member: acts; viewer: reads)");

  team
    .command('create')
    .description('make a team (then add its first owner with `ocr team add TEAM USER --role owner`)')
    .argument('<name>', 'its name', teamNameArgument)
    .action(async (name: string) => {
      const { admin } = await teamAdmin(ctx);
      const t = await admin.createTeam(name);
      ctx.print(`created team ${shortId(t.id)} "${plain(t.name)}"; add its owner with \`ocr team add ${shortId(t.id)} USER --role owner\`\n${t.id}`, t);
    });

  team
    .command('list')
    .description('the teams and their members')
    .action(async () => {
      const { admin } = await teamAdmin(ctx);
      const teams = await admin.listTeams();
      if (teams.length === 0) {
        ctx.print('no teams yet; make one with `ocr team create NAME`', teams);
        return;
      }
      const rows = teams.flatMap((t) =>
        t.members.length === 0
          ? [[shortId(t.id), plain(t.name, 40), '-', '-', timeAgo(t.created_at)]]
          : t.members.map((m) => [shortId(t.id), plain(t.name, 40), m.user_id, m.role, timeAgo(m.added_at)]),
      );
      ctx.print(table(['TEAM', 'NAME', 'USER', 'ROLE', 'SINCE'], rows), teams);
    });

  team
    .command('add')
    .description("add a user to a team, or give a member another role")
    .argument('<team>', "the team's name or id")
    .argument('<user>', "the user's id or the email they signed up with")
    .option('--role <role>', 'owner, member or viewer', roleOption, 'member' as TeamRole)
    .action(async (teamText: string, userText: string, o: { role: TeamRole }) => {
      const { admin } = await teamAdmin(ctx);
      const t = await admin.resolveTeam(teamText, '<team>');
      const m = await admin.addMember(t.id, await admin.resolveUser(userText), o.role);
      ctx.print(`${m.user_id} is ${m.role === 'owner' ? 'an owner' : `a ${m.role}`} of team "${plain(t.name)}"`, m);
    });

  team
    .command('remove')
    .description('take a user out of a team (a team keeps at least one owner)')
    .argument('<team>', "the team's name or id")
    .argument('<user>', "the user's id or email")
    .action(async (teamText: string, userText: string) => {
      const { admin } = await teamAdmin(ctx);
      const t = await admin.resolveTeam(teamText, '<team>');
      const user = await admin.resolveUser(userText);
      await admin.removeMember(t.id, user);
      ctx.print(`${user} is no longer in team "${plain(t.name)}"`, { team_id: t.id, user_id: user });
    });
}
