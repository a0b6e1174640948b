// OCR: Connect to Supabase…, OCR: Sign Out of Supabase, OCR: Set Worker Token…
import os from 'node:os';
import * as vscode from 'vscode';
import { z } from 'zod';
import { ApiClientStore, type ProjectHealth } from '../../worker/api/api-client-store';
import { OcrError } from '../../worker/store/errors';
import { readSettings } from '../settings';
import { checkAnonKey, projectUrl, type SignedInUser, type SupabaseAuth, type SupabaseProject } from '../supabase/supabase-auth';
import { checkToken } from '../supabase/supabase-connection';
import type { CommandContext } from './context';
import { register } from './register';

const lastEmailKey = 'ocr.supabase.lastEmail';

/** What a script (or a test) may pass instead of answering the questions. */
const ConnectArgs = z
  .object({
    url: z.string(),
    anonKey: z.string(),
    email: z.string().email('email: an email address'),
    password: z.string().min(1, 'password: give the password'),
    /** the team new sessions go to; asked when the person is in several */
    team: z.string().uuid('team: a team id').optional(),
  })
  .strict();

const SetTokenArgs = z.union([z.string(), z.object({ remove: z.literal(true) }).strict(), z.object({ create: z.literal(true), name: z.string().optional() }).strict()]);

export function registerSupabaseCommands(ctx: CommandContext): vscode.Disposable[] {
  const connection = ctx.backend.supabase;

  /** Signs in (asking what is missing), checks the project, picks the team; answers undefined when the person gave up. */
  async function signIn(project: SupabaseProject, scripted: z.output<typeof ConnectArgs> | undefined): Promise<SignedInUser | undefined> {
    const auth = connection.authOf(project);
    if (scripted) return auth.signInWithPassword(scripted.email, scripted.password);
    const current = await auth.user().catch(() => undefined);
    const passwordChoice = { label: '$(key) Email and password', how: 'password' as const };
    const codeChoice = { label: '$(mail) Email me a one-time code', how: 'code' as const };
    const choices = [
      ...(current ? [{ label: `$(account) Continue as ${current.email ?? current.id}`, how: 'current' as const }] : []),
      passwordChoice,
      codeChoice,
    ];
    const how = (await vscode.window.showQuickPick(choices, { title: 'Connect to Supabase', placeHolder: 'How do you sign in?', ignoreFocusOut: true }))?.how;
    if (!how) return undefined;
    if (how === 'current') return current;
    const email = await vscode.window.showInputBox({
      title: 'Connect to Supabase',
      prompt: 'Your email address on the project',
      value: ctx.extension.globalState.get<string>(lastEmailKey) ?? '',
      ignoreFocusOut: true,
      validateInput: (v) => (/^\S+@\S+\.\S+$/.test(v.trim()) ? undefined : 'An email address, such as you@example.com'),
    });
    if (!email) return undefined;
    await ctx.extension.globalState.update(lastEmailKey, email.trim());
    if (how === 'password') {
      const password = await vscode.window.showInputBox({ title: 'Connect to Supabase', prompt: `The password of ${email.trim()}`, password: true, ignoreFocusOut: true });
      if (!password) return undefined;
      return withProgress('Signing in to Supabase…', () => auth.signInWithPassword(email, password));
    }
    await withProgress('Sending a one-time code…', () => auth.sendCode(email));
    const code = await vscode.window.showInputBox({
      title: 'Connect to Supabase',
      prompt: `The code Supabase sent to ${email.trim()}`,
      ignoreFocusOut: true,
      validateInput: (v) => (/^\s*\d{6,10}\s*$/.test(v) ? undefined : 'The digits from the email'),
    });
    if (!code) return undefined;
    return withProgress('Signing in to Supabase…', () => auth.verifyCode(email, code));
  }

  /** The team new sessions go to: the only one the person may create in, one they pick, or one they create now. */
  async function chooseTeam(store: ApiClientStore, health: ProjectHealth, scripted: z.output<typeof ConnectArgs> | undefined): Promise<string | undefined> {
    if (scripted?.team) return scripted.team;
    const mine = health.teams.filter((t) => t.role !== 'viewer');
    if (mine.length === 1 || (scripted && mine.length > 0)) return mine[0]!.id;
    if (mine.length > 1) {
      const previous = readSettings().settings['supabase.team'];
      const items = mine.map((t) => ({ label: t.name, description: `${t.role}${t.id === previous ? ' · current' : ''}`, id: t.id }));
      return (await vscode.window.showQuickPick(items, { title: 'Connect to Supabase', placeHolder: 'Which team do new sessions belong to?', ignoreFocusOut: true }))?.id;
    }
    if (scripted) return undefined;
    const viewer = health.teams.length > 0 ? ` (you may only view ${health.teams.map((t) => `"${t.name}"`).join(', ')})` : '';
    const create = 'Create a Team…';
    const answer = await vscode.window.showInformationMessage(
      `You are not a member of any team on this project${viewer}: ask a team's owner to add you, or create a team of your own.`,
      create,
      'Later',
    );
    if (answer !== create) return undefined;
    const name = await vscode.window.showInputBox({ title: 'Create a Team', prompt: 'The team\'s name', ignoreFocusOut: true, validateInput: (v) => (v.trim() ? undefined : 'Give the team a name') });
    if (!name) return undefined;
    return (await store.createTeam(name.trim())).id;
  }

  return [
    // a revoked token stops the worker at once, as `ocr worker --api` stops; its runs' leases expire and return them to the queue
    connection.onWorkerTokenRefused((message) => {
      void ctx.worker.stop(0);
      const set = 'Set Worker Token…';
      void vscode.window.showWarningMessage(`Ops Control Room: the project refused the worker token (${message}); the worker in this editor stopped.`, set).then((a) => {
        if (a === set) void vscode.commands.executeCommand('ocr.setWorkerToken');
      });
    }),
    register(ctx, 'ocr.connectSupabase', async (arg?: unknown) => {
      const scripted = arg === undefined ? undefined : ConnectArgs.parse(arg);
      const { settings } = readSettings();
      const url =
        scripted?.url ??
        (await vscode.window.showInputBox({
          title: 'Connect to Supabase',
          prompt: 'The project\'s URL (Project Settings → API)',
          placeHolder: 'https://abcd.supabase.co',
          value: settings['supabase.url'],
          ignoreFocusOut: true,
          validateInput: (v) => validation(() => projectUrl(v)),
        }));
      if (!url) return undefined;
      const anonKey =
        scripted?.anonKey ??
        (await vscode.window.showInputBox({
          title: 'Connect to Supabase',
          prompt: 'The project\'s anon (publishable) key: a public key that only lets people sign in',
          value: settings['supabase.url'] && projectUrl(settings['supabase.url']) === projectUrl(url) ? settings['supabase.anonKey'] : '',
          ignoreFocusOut: true,
          validateInput: (v) => validation(() => checkAnonKey(v)),
        }));
      if (!anonKey) return undefined;
      const project = { url: projectUrl(url), anonKey: checkAnonKey(anonKey) };

      const user = await signIn(project, scripted);
      if (!user) return undefined;
      // the project is checked before anything is saved: a project without the function or its migrations changes nothing
      const { store, health } = await withProgress('Checking the project…', () => connection.open(project, undefined));
      let team: string | undefined;
      try {
        team = await chooseTeam(store, health, scripted);
      } finally {
        await store.close();
      }
      const config = vscode.workspace.getConfiguration('ocr');
      await config.update('supabase.url', project.url, vscode.ConfigurationTarget.Global);
      await config.update('supabase.anonKey', project.anonKey, vscode.ConfigurationTarget.Global);
      await config.update('supabase.team', team ?? '', vscode.ConfigurationTarget.Global);
      await config.update('backend', 'supabase', vscode.ConfigurationTarget.Global);
      await ctx.backend.reopen();
      const who = user.email ?? user.id;
      const teamName = health.teams.find((t) => t.id === team)?.name;
      ctx.log.info(`signed in to ${project.url} as ${who}${teamName ? ` (team ${teamName})` : ''}`);
      // the worker follows: with a token it starts on this project, without one it says what it needs
      if (readSettings().settings['worker.autoStart'] && vscode.workspace.isTrusted && !ctx.worker.isOn) void ctx.worker.start();
      const message = `Ops Control Room now uses the Supabase project ${new URL(project.url).host}, signed in as ${who}${teamName ? ` (team "${teamName}")` : ''}.`;
      if (await connection.hasWorkerToken()) void vscode.window.showInformationMessage(message);
      else {
        const set = 'Set Worker Token…';
        void vscode.window.showInformationMessage(`${message} The worker in this editor needs a worker token to run anything.`, set).then((a) => {
          if (a === set) void vscode.commands.executeCommand('ocr.setWorkerToken');
        });
      }
      return { user, team: team ?? null };
    }),

    register(ctx, 'ocr.signOutSupabase', async () => {
      const project = connection.project();
      const auth: SupabaseAuth = connection.authOf(project);
      const user = await auth.user();
      await auth.signOut();
      await ctx.backend.reopen();
      void vscode.window.showInformationMessage(
        user ? `Signed out of ${new URL(project.url).host} (${user.email ?? user.id}).` : `Nobody was signed in to ${new URL(project.url).host}.`,
      );
      return true;
    }),

    register(ctx, 'ocr.setWorkerToken', async (arg?: unknown) => {
      const given = arg === undefined ? undefined : SetTokenArgs.parse(arg);
      if (!ctx.backend.usesSupabase()) {
        throw new OcrError('invalid_state', 'a worker token is for a Supabase project, and the editor does not use one', 'run "OCR: Connect to Supabase…" first');
      }
      const has = await connection.hasWorkerToken();
      let action: 'paste' | 'create' | 'remove' | undefined = typeof given === 'string' ? 'paste' : given && 'remove' in given ? 'remove' : given ? 'create' : undefined;
      if (!action) {
        const items = [
          { label: '$(clippy) Paste a Worker Token…', detail: 'one that `ocr token create --name NAME` printed', action: 'paste' as const },
          { label: '$(add) Create a Worker Token for This Editor', detail: 'for a team you own', action: 'create' as const },
          ...(has ? [{ label: '$(trash) Remove the Worker Token', detail: 'the worker in this editor stops', action: 'remove' as const }] : []),
        ];
        action = (await vscode.window.showQuickPick(items, { title: 'Set Worker Token', placeHolder: 'The worker in this editor runs with a worker token of your team' }))?.action;
      }
      if (!action) return undefined;
      let token: string | undefined;
      if (action === 'paste') {
        token =
          typeof given === 'string'
            ? given
            : await vscode.window.showInputBox({
                title: 'Set Worker Token',
                prompt: 'The worker token (ocrw_…); it is kept in the editor\'s secret storage',
                password: true,
                ignoreFocusOut: true,
                validateInput: (v) => validation(() => checkToken(v)),
              });
        if (!token) return undefined;
      } else if (action === 'create') {
        const store = await ctx.store();
        if (!(store instanceof ApiClientStore)) throw new OcrError('invalid_state', 'the editor is not signed in to a Supabase project', 'run "OCR: Connect to Supabase…"');
        const owned = (await store.check()).teams.filter((t) => t.role === 'owner');
        if (owned.length === 0) throw new OcrError('not_authorized', 'only a team\'s owners create its worker tokens, and you own no team', 'ask an owner for a token (`ocr token create --name NAME`), then paste it here');
        const preferred = owned.find((t) => t.id === readSettings().settings['supabase.team']);
        const team =
          owned.length === 1 || (given !== undefined && preferred)
            ? (preferred ?? owned[0]!)
            : (await vscode.window.showQuickPick(owned.map((t) => ({ label: t.name, description: t === preferred ? 'new sessions go here' : undefined, team: t })), { title: 'Set Worker Token', placeHolder: 'A worker token of which team?' }))?.team;
        if (!team) return undefined;
        const name = given && typeof given === 'object' && 'name' in given && given.name ? given.name : `${os.hostname()} editor`;
        token = (await store.createWorkerToken(team.id, name)).token;
        ctx.log.info(`created the worker token "${name}" of team ${team.name}`);
      }
      await connection.setWorkerToken(action === 'remove' ? undefined : token);
      // the worker starts again with the new token, or says it has none
      const state = ctx.worker.state;
      const wanted = ctx.worker.isOn || (state.kind === 'off' && state.reason === 'no-worker-token') || readSettings().settings['worker.autoStart'];
      if (ctx.worker.isOn) await ctx.worker.stop(5_000);
      if (wanted) await ctx.worker.start();
      void vscode.window.showInformationMessage(
        action === 'remove' ? 'The worker token was removed: the worker in this editor stays off.' : `The worker in this editor now runs with the worker token${action === 'create' ? ' it created' : ''}.`,
      );
      return ctx.worker.state.kind;
    }),
  ];
}

function validation(check: () => unknown): string | undefined {
  try {
    check();
    return undefined;
  } catch (e) {
    return e instanceof OcrError ? e.line : (e as Error).message;
  }
}

function withProgress<T>(title: string, work: () => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, work);
}
