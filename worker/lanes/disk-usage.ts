// How much disk a lane's worktree takes of its own: blocks on disk, as `du` counts them, of what the lane holds, and
// not of what it shares with the user's checkout through linkDirs (worker/engine/link-dirs.ts):
//   - a symbolic link counts as the link itself (a few bytes at most), never as what it points to: a symlinked
//     node_modules is the checkout's, not the lane's;
//   - a hard-linked file counts once, by its inode, however many of its names the lane holds; and when some of its
//     names are outside the lane (a hard-linked copy of node_modules, whose files are also the checkout's) it is not
//     the lane's own at all: it is counted apart, as shared, with its size.
// A copy-on-write clone cannot be told from a copy by its metadata, so it counts as the lane's own.
import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { formatBytes } from '../../domain';

export interface DiskUsage {
  /** bytes on disk of what the lane holds of its own (blocks × 512, as du counts them) */
  bytes: number;
  /** files, folders and links counted in `bytes` */
  entries: number;
  /** symbolic links, each counted as the link itself */
  symlinks: number;
  /** files whose inode has names outside the folder too (hard links to the user's checkout), counted once each */
  sharedFiles: number;
  /** their bytes on disk, not part of `bytes` */
  sharedBytes: number;
  /** folders that could not be read (no permission, or gone while it looked) */
  unreadable: number;
}

interface Inode {
  bytes: number;
  links: number;
  seen: number;
}

const onDisk = (s: Stats): number => (typeof s.blocks === 'number' && s.blocks >= 0 ? s.blocks * 512 : s.size);

/**
 * Walks `folder` without following symbolic links, a few dozen file system calls at a time, and answers what it takes
 * on disk. A missing folder takes nothing. Stops early, answering what it has, when `signal` is aborted.
 */
export async function laneDiskUsage(folder: string, options: { signal?: AbortSignal; parallel?: number } = {}): Promise<DiskUsage> {
  const usage: DiskUsage = { bytes: 0, entries: 0, symlinks: 0, sharedFiles: 0, sharedBytes: 0, unreadable: 0 };
  const linked = new Map<string, Inode>();
  let root: Stats;
  try {
    root = await lstat(folder);
  } catch {
    return usage;
  }
  const count = (s: Stats): void => {
    if (s.isFile() && s.nlink > 1) {
      const key = `${s.dev}:${s.ino}`;
      const inode = linked.get(key);
      if (inode) inode.seen++;
      else linked.set(key, { bytes: onDisk(s), links: s.nlink, seen: 1 });
      return;
    }
    if (s.isSymbolicLink()) usage.symlinks++;
    usage.bytes += onDisk(s);
    usage.entries++;
  };
  count(root);
  if (!root.isDirectory()) return finish(usage, linked);

  const folders: string[] = [folder];
  const parallel = Math.max(1, options.parallel ?? 32);
  const readFolder = async (dir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      usage.unreadable++;
      return;
    }
    for (let i = 0; i < entries.length; i += parallel) {
      if (options.signal?.aborted) return;
      const stats = await Promise.all(
        entries.slice(i, i + parallel).map(async (entry) => {
          const full = path.join(dir, entry.name);
          try {
            return { full, stats: await lstat(full) };
          } catch {
            return undefined; // gone while it looked
          }
        }),
      );
      for (const found of stats) {
        if (!found) continue;
        count(found.stats);
        if (found.stats.isDirectory()) folders.push(found.full);
      }
    }
  };
  // a few folders at a time: each read is itself spread over `parallel` calls
  while (folders.length > 0 && !options.signal?.aborted) {
    await Promise.all(folders.splice(0, 4).map(readFolder));
  }
  return finish(usage, linked);
}

function finish(usage: DiskUsage, linked: Map<string, Inode>): DiskUsage {
  for (const inode of linked.values()) {
    if (inode.seen >= inode.links) {
      // every name of it is in the lane: the lane's own file, once
      usage.bytes += inode.bytes;
      usage.entries++;
    } else {
      usage.sharedFiles++;
      usage.sharedBytes += inode.bytes;
    }
  }
  return usage;
}

/** "412 MB" and, when it shares files with the checkout or holds links, what was left out and why. */
export function describeDiskUsage(usage: DiskUsage): { text: string; detail: string } {
  const parts = [`${formatBytes(usage.bytes)} of its own on disk`];
  if (usage.sharedFiles > 0) {
    parts.push(`${usage.sharedFiles} hard-linked file${usage.sharedFiles === 1 ? '' : 's'} shared with your checkout (${formatBytes(usage.sharedBytes)}) not counted`);
  }
  if (usage.symlinks > 0) parts.push(`${usage.symlinks} symbolic link${usage.symlinks === 1 ? '' : 's'} counted as links, not what they point to`);
  if (usage.unreadable > 0) parts.push(`${usage.unreadable} folder${usage.unreadable === 1 ? '' : 's'} could not be read`);
  return { text: formatBytes(usage.bytes), detail: parts.join('; ') };
}
