// A session: one intent on one repository, worked on in parallel lanes.
import { z } from 'zod';

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

export const sessionTitle = z.string().trim().min(1, 'a session needs a title').max(200, 'a title is at most 200 characters');

export const NewSession = z.object({
  title: sessionTitle,
  intent: z.string().max(10_000, 'an intent is at most 10,000 characters').default(''),
  lanes: z.array(laneName).min(1).max(maxLanes).optional(),
  repo_id: z.string().nullable().optional(),
  repo_url: z.string().nullable().optional(),
  repo_path: z.string().nullable().optional(),
  base_ref: z.string().nullable().optional(),
  created_by: z.string().nullable().optional(),
});
export type NewSession = z.input<typeof NewSession>;
