// The `ocr.*` settings, read through zod: a wrong value is reported by name and its default used instead.
import * as vscode from 'vscode';
import { z } from 'zod';
import { AgentProfiles } from '../worker/engine/executors';
import { LinkDirName, LinkMode } from '../worker/engine/link-dirs';
import { AgentPrices, laneName } from '../domain';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'an environment variable name (a trailing * matches a prefix)');

export const Settings = z.object({
  backend: z.enum(['embedded', 'postgres', 'supabase']).default('embedded'),
  lanes: z.array(laneName).min(1).max(26).default(['A', 'B', 'C', 'D']),
  'worker.concurrency': z.number().int().min(1).max(64).default(4),
  'worker.autoStart': z.boolean().default(true),
  'worker.leaseSeconds': z.number().int().min(5).max(3600).default(30),
  'worker.env.pass': z.array(envName).default([]),
  'worker.env.allow': z.array(envName).default([]),
  'worktrees.root': z.string().default(''),
  'worktrees.copyFiles': z.array(z.string().min(1)).default(['.env', '.env.local']),
  'worktrees.setupCommand': z.string().default(''),
  'worktrees.linkDirs': z.array(LinkDirName).default([]),
  'worktrees.linkMode': LinkMode.default('auto'),
  'agents.profiles': AgentProfiles.default({}),
  'agents.prices': AgentPrices.default({}),
  /** per agent run queued from the editor that names no limit of its own; null: none */
  'agents.maxCostUsd': z.number().positive('an amount in US dollars above 0, or empty for no limit').max(100_000).nullable().default(null),
  'agents.sessionMaxCostUsd': z.number().positive('an amount in US dollars above 0, or empty for no limit').max(100_000).nullable().default(null),
  'agents.laneMaxCostUsd': z.number().positive('an amount in US dollars above 0, or empty for no limit').max(100_000).nullable().default(null),
  'agents.maxMinutes': z.number().int('a whole number of minutes, or empty for the worker\'s default').min(1).max(43_200).nullable().default(null),
  defaultExecutor: z.string().min(1).default('shell'),
  'embedded.dataDir': z.string().default(''),
  'notifications.enabled': z.boolean().default(true),
  /** a Supabase project's URL and anon key: public values (the sign-in is kept in SecretStorage) */
  'supabase.url': z.string().regex(/^(https?:\/\/[^\s/?#]+\/?)?$/, 'the project\'s URL, such as https://abcd.supabase.co').default(''),
  'supabase.anonKey': z.string().default(''),
  /** the team new sessions go to, for someone in more than one */
  'supabase.team': z.string().regex(/^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$/i, 'a team\'s id, or empty').default(''),
});
export type Settings = z.output<typeof Settings>;

const keys = Object.keys(Settings.shape) as Array<keyof Settings>;

/** Reads every setting; one that fails validation falls back to its default and is named in `problems`. */
export function readSettings(): { settings: Settings; problems: string[] } {
  const config = vscode.workspace.getConfiguration('ocr');
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of keys) {
    const value = config.get(key);
    const field = Settings.shape[key];
    const parsed = field.safeParse(value);
    if (parsed.success) raw[key] = parsed.data;
    else {
      problems.push(`ocr.${key}: ${parsed.error.issues[0]?.message ?? 'invalid value'}; using the default`);
      raw[key] = undefined;
    }
  }
  return { settings: Settings.parse(raw), problems };
}
