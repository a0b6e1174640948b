// What a run leaves behind besides its log: its diff above all, with the summary people read.
import { z } from 'zod';

export const ArtifactKind = z.enum(['diff', 'file', 'link', 'log', 'manifest']);
export type ArtifactKind = z.infer<typeof ArtifactKind>;

/** A row of ops.artifacts. */
export const Artifact = z.object({
  id: z.string().uuid(),
  run_id: z.string().uuid(),
  kind: ArtifactKind,
  name: z.string(),
  mime: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  content: z.string().nullable(),
  meta: z.record(z.string(), z.unknown()),
  created_at: z.string(),
});
export type Artifact = z.infer<typeof Artifact>;

export const DiffFile = z.object({
  path: z.string(),
  status: z.enum(['added', 'modified', 'deleted', 'type-changed']),
  insertions: z.number().int(),
  deletions: z.number().int(),
  binary: z.boolean(),
});
export type DiffFile = z.infer<typeof DiffFile>;

/** The meta of a diff artifact. */
export const DiffSummary = z.object({
  base: z.string().default(''),
  files: z.number().int(),
  insertions: z.number().int(),
  deletions: z.number().int(),
  binaryFiles: z.number().int().default(0),
  entries: z.array(DiffFile).default([]),
  /** how the patch is stored: as text, or base64 when it is not valid UTF-8 (files in another encoding) */
  encoding: z.enum(['utf8', 'base64']).default('utf8'),
  /** the patch was larger than the worker stores; only the summary is kept */
  omitted: z.boolean().default(false),
});
export type DiffSummary = z.infer<typeof DiffSummary>;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** One line for a log, a notification or a status bar: "3 files changed, +10 -4 (1 binary)". */
export function describeDiff(summary: Pick<DiffSummary, 'files' | 'insertions' | 'deletions' | 'binaryFiles'>): string {
  if (summary.files === 0) return 'no changes';
  const binary = summary.binaryFiles > 0 ? ` (${summary.binaryFiles} binary)` : '';
  return `${plural(summary.files, 'file')} changed, +${summary.insertions} -${summary.deletions}${binary}`;
}
