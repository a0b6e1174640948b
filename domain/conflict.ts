// The conflict radar's findings: which lanes of a session would conflict with each other, or with the user's branch, if
// merged now (uncommitted work included), and in which files. The engine computes them (worker/lanes/conflicts.ts);
// the CLI, the Sessions tree and the Runboard show them in the same words.
import { z } from 'zod';

export const LaneConflict = z.object({
  /** a lane */
  a: z.string(),
  /** another lane, or the user's branch (see `against`) */
  b: z.string(),
  against: z.enum(['lane', 'user-branch']),
  files: z.array(z.string()),
});
export type LaneConflict = z.infer<typeof LaneConflict>;

/** The radar's last look at one session. */
export const SessionConflicts = z.object({
  session_id: z.string(),
  /** the user's branch the lanes were merged with (its name, or a commit when HEAD is detached) */
  user_branch: z.string().nullable(),
  conflicts: z.array(LaneConflict),
  checked_at: z.string(),
  /** why the radar could not look (no repository here, git too old, …); conflicts are then empty */
  error: z.string().nullable().default(null),
});
export type SessionConflicts = z.infer<typeof SessionConflicts>;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "lanes A and B conflict in 1 file" / "lane A and your branch main conflict in 2 files". */
export function conflictTitle(c: LaneConflict, userBranch: string | null): string {
  const who = c.against === 'lane' ? `lanes ${c.a} and ${c.b}` : `lane ${c.a} and your branch${userBranch ? ` ${userBranch}` : ''}`;
  return `${who} conflict in ${plural(c.files.length, 'file')}`;
}

/** The conflicts a lane is part of, seen from that lane: "B" or "your branch" with the files. */
export function laneConflictsOf(lane: string, conflicts: readonly LaneConflict[]): Array<{ with: string; files: string[] }> {
  return conflicts
    .filter((c) => c.a === lane || (c.against === 'lane' && c.b === lane))
    .map((c) => ({ with: c.against === 'user-branch' ? 'your branch' : c.a === lane ? `lane ${c.b}` : `lane ${c.a}`, files: c.files }));
}
