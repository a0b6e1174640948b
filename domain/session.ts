// A session: one intent on one repository, worked on in parallel lanes.
import { z } from 'zod';
import { unstorableJson, unstorableText } from './text';

/** A refinement for text that goes into the database: no NUL, no half surrogate pair (see unstorableText). */
export function storable(text: string, ctx: z.RefinementCtx<string>): void {
  const reason = unstorableText(text);
  if (reason) ctx.addIssue({ code: 'custom', message: reason });
}

/** The same for a JSON value: the issue names the path inside it. */
export function storableJson(value: unknown, ctx: z.RefinementCtx<unknown>): void {
  const found = unstorableJson(value);
  if (found) ctx.addIssue({ code: 'custom', message: found.reason, path: found.path });
}

const storedText = () => z.string().superRefine(storable);

/** Characters as people and the database count them: an emoji made of a surrogate pair is one. */
export const characterCount = (text: string): number => text.length - (text.match(/[\ud800-\udbff][\udc00-\udfff]/g)?.length ?? 0);

/** A refinement: at most `max` characters (code points, as PostgreSQL's length() counts them). */
export const atMostCharacters =
  (max: number, message: string) =>
  (text: string, ctx: z.RefinementCtx<string>): void => {
    if (text.length > max && characterCount(text) > max) ctx.addIssue({ code: 'custom', message });
  };

export const defaultLanes: readonly string[] = ['A', 'B', 'C', 'D'];
export const maxLanes = 26;

export const laneName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,16}$/, 'a lane name is 1 to 16 letters, digits, "-" or "_"');

export const SessionStatus = z.enum(['active', 'archived']);
export type SessionStatus = z.infer<typeof SessionStatus>;

const timestamp = z.string();

/** A row of ops.sessions; field names are the database's. */
export const Session = z.object({
  id: z.string().uuid(),
  title: z.string(),
  intent: z.string(),
  status: SessionStatus,
  lanes: z.array(z.string()),
  repo_id: z.string().nullable(),
  repo_url: z.string().nullable(),
  repo_path: z.string().nullable(),
  base_ref: z.string().nullable(),
  created_by: z.string().nullable(),
  created_at: timestamp,
  archived_at: timestamp.nullable(),
});
export type Session = z.infer<typeof Session>;

export const sessionTitle = z
  .string()
  .trim()
  .min(1, 'a session needs a title')
  .superRefine(atMostCharacters(200, 'a title is at most 200 characters'))
  .superRefine(storable);

/** A ref or URL git will be handed: never one git could read as an option. */
const gitArgument = (what: string) =>
  storedText().refine((v) => !v.startsWith('-'), `${what} cannot start with "-" (git would read it as an option)`);

export const NewSession = z.object({
  title: sessionTitle,
  intent: storedText().superRefine(atMostCharacters(10_000, 'an intent is at most 10,000 characters')).default(''),
  lanes: z.array(laneName).min(1).max(maxLanes).optional(),
  repo_id: storedText().nullable().optional(),
  repo_url: gitArgument('a repository URL').nullable().optional(),
  repo_path: storedText().nullable().optional(),
  base_ref: gitArgument('a base ref').nullable().optional(),
  created_by: storedText().nullable().optional(),
});
export type NewSession = z.input<typeof NewSession>;

/**
 * The TCP ports a lane's runs may listen on (OCR_PORT = port_base, OCR_PORT_COUNT = port_count): a row of
 * ops.lane_ports, leased the first time a worker prepares the lane, freed when its session is archived.
 */
export const LanePorts = z.object({
  session_id: z.string().uuid(),
  lane: z.string(),
  port_base: z.number().int().min(1),
  port_count: z.number().int().min(1),
  leased_at: timestamp,
  leased_by: z.string().nullable(),
});
export type LanePorts = z.infer<typeof LanePorts>;

/** "ports 20000–20009" (one port: "port 20000"). */
export function portRangeText(ports: Pick<LanePorts, 'port_base' | 'port_count'>): string {
  return ports.port_count === 1 ? `port ${ports.port_base}` : `ports ${ports.port_base}–${ports.port_base + ports.port_count - 1}`;
}
