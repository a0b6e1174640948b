// Commands take the tree's nodes (context menus), plain objects (scripts, tests) or nothing (the palette, which then
// asks). Plain objects are checked with zod like any other input.
import { z } from 'zod';
import { LaneNode, RunNode, SessionNode } from '../sessions/sessions-tree';

export const SessionArg = z.object({ sessionId: z.string().uuid() });
export const RunArg = z.object({ runId: z.string().uuid() });
export const LaneArg = z.object({ sessionId: z.string().uuid(), lane: z.string().min(1) });

export const NewSessionArg = z.object({
  title: z.string().trim().min(1, 'a session needs a title'),
  intent: z.string().default(''),
  /** a folder inside a git repository; the first workspace folder when absent */
  repo: z.string().nullable().optional(),
  lanes: z.array(z.string()).optional(),
});

export function sessionIdOf(arg: unknown): string | undefined {
  if (arg instanceof SessionNode || arg instanceof LaneNode) return arg.session.id;
  if (arg instanceof RunNode) return arg.run.session_id;
  const parsed = SessionArg.safeParse(arg);
  return parsed.success ? parsed.data.sessionId : typeof arg === 'string' && z.string().uuid().safeParse(arg).success ? arg : undefined;
}

export function runIdOf(arg: unknown): string | undefined {
  if (arg instanceof RunNode) return arg.run.id;
  const parsed = RunArg.safeParse(arg);
  if (parsed.success) return parsed.data.runId;
  return typeof arg === 'string' && z.string().uuid().safeParse(arg).success ? arg : undefined;
}

export function laneOf(arg: unknown): { sessionId: string; lane: string } | undefined {
  if (arg instanceof LaneNode) return { sessionId: arg.session.id, lane: arg.lane };
  if (arg instanceof RunNode) return { sessionId: arg.run.session_id, lane: arg.run.lane };
  const parsed = LaneArg.safeParse(arg);
  return parsed.success ? parsed.data : undefined;
}
