// The newest peer releases need Node 22 while this project runs on Node 20. A Node 22 binary is itself an npm package
// (node-<platform>-<arch>), so the harness installs it and the newest peers into a cache folder of their own, once,
// and runs those peers' processes with it. Delete the folder to pick up newer releases.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const NODE_MAJOR = 22;
export const latestDir = (): string => path.resolve('node_modules', '.cache', 'ocr-bench-peers');

export interface LatestRuntime {
  base: string;
  execPath: string;
  node: string;
}

/** The folder with Node 22 and the newest peers, installed on first use; or why there is none. */
export async function latestRuntime(log: (line: string) => void): Promise<LatestRuntime | { unavailable: string }> {
  const platform = ({ linux: 'linux', darwin: 'darwin' } as Record<string, string>)[process.platform];
  const arch = ({ x64: 'x64', arm64: 'arm64' } as Record<string, string>)[process.arch];
  if (!platform || !arch) return { unavailable: `no Node ${NODE_MAJOR} package for ${process.platform}-${process.arch}` };
  const dir = latestDir();
  const nodePackage = `node-${platform}-${arch}`;
  const execPath = path.join(dir, 'node_modules', nodePackage, 'bin', 'node');
  const installed = ['graphile-worker', 'pg-boss'].every((p) => existsSync(path.join(dir, 'node_modules', p, 'package.json')));
  if (!installed || !existsSync(execPath)) {
    log(`installing Node ${NODE_MAJOR} and the newest graphile-worker and pg-boss into ${path.relative(process.cwd(), dir)} …`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'package.json'), '{ "private": true }\n');
    const npm = process.env.npm_execpath;
    const [cmd, pre] = npm && npm.endsWith('.js') ? [process.execPath, [npm]] : ['npm', []];
    try {
      await run(
        cmd,
        [...pre, 'install', '--no-audit', '--no-fund', '--loglevel=error', `${nodePackage}@${NODE_MAJOR}`, 'graphile-worker@latest', 'pg-boss@latest'],
        { cwd: dir, timeout: 5 * 60_000 },
      );
    } catch (e) {
      return { unavailable: `installing them failed: ${((e as Error).message.split('\n')[0] ?? '').slice(0, 200)}` };
    }
  }
  try {
    const { stdout } = await run(execPath, ['--version']);
    const node = stdout.trim();
    if (Number(/^v(\d+)/.exec(node)?.[1]) < NODE_MAJOR) return { unavailable: `${execPath} is ${node}` };
    return { base: dir, execPath, node };
  } catch (e) {
    return { unavailable: `the Node ${NODE_MAJOR} binary does not run here: ${(e as Error).message.split('\n')[0]}` };
  }
}
