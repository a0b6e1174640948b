// Peers are loaded at run time, never bundled: the newest releases are ES modules that need Node 22 and live in their
// own folder, and a bundled copy would not be the package as its users run it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Where to resolve a peer from: a folder holding node_modules, or undefined for the project's own dependencies. */
export type PeerBase = string | undefined;

function requireFrom(base: PeerBase): NodeRequire {
  return createRequire(base ? path.join(path.resolve(base), 'package.json') : __filename);
}

export async function importPeer(name: string, base: PeerBase): Promise<Record<string, unknown>> {
  const entry = requireFrom(base).resolve(name);
  // a computed specifier keeps esbuild from pulling the package into the bundle
  const mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  return mod;
}

export function peerVersion(name: string, base: PeerBase): string {
  const req = requireFrom(base);
  // package.json is not always exported, so walk up from the entry point to the package's own folder
  let dir = path.dirname(req.resolve(name));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name && pkg.version) return pkg.version;
    } catch {
      // not this folder
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the version of ${name}`);
    dir = up;
  }
}

export const major = (version: string): number => Number(version.split('.')[0]);
export const minor = (version: string): number => Number(version.split('.')[1]);
