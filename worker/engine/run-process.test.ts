import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, bundleFixture, eventually, groupMembers, tempDir } from './git.test-support';
import { RunProcess, signalGroup } from './run-process';

const dir = tempDir();
afterAll(() => dir.remove());

function collect(proc: RunProcess): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { out: () => out, err: () => err };
}

const pidsIn = (text: string, label: string): number[] =>
  [...text.matchAll(new RegExp(`\\b${label} (\\d+)`, 'g'))].map((m) => Number(m[1]));

describe('RunProcess', () => {
  it('runs argv without a shell, in its own process group, and reports the exit code', async () => {
    const proc = RunProcess.start({
      argv: ['/bin/sh', '-c', 'echo "$1"; echo "pgid $(ps -o pgid= -p $$ | tr -d " ")"; echo oops >&2; exit 3', 'x', '$(echo not expanded) ; "quoted"'],
      cwd: dir.path,
      env: process.env,
    });
    const io = collect(proc);
    const result = await proc.done;
    expect(result.exitCode).toBe(3);
    expect(result.stoppedBy).toBeNull();
    expect(io.out()).toContain('$(echo not expanded) ; "quoted"\n');
    expect(pidsIn(io.out(), 'pgid')).toEqual([proc.pid]);
    expect(io.err()).toBe('oops\n');
    expect(proc.pid).not.toBe(process.pid);
    // nothing was left behind, so nothing is reported as killed
    expect(result.killedLeftovers).toBe(false);
  });

  it('stop ends the whole tree: the command and its children', async () => {
    const proc = RunProcess.start({
      argv: ['/bin/sh', '-c', 'sleep 600 & echo "child $!"; sh -c "sleep 600 & echo grandchild \\$!; wait" & wait'],
      cwd: dir.path,
      env: process.env,
    });
    const io = collect(proc);
    await eventually(() => pidsIn(io.out(), 'child').length === 1 && pidsIn(io.out(), 'grandchild').length === 1, 'children started');
    const pids = [...pidsIn(io.out(), 'child'), ...pidsIn(io.out(), 'grandchild')];
    proc.stop('cancel');
    const result = await proc.done;
    expect(result.stoppedBy).toBe('cancel');
    expect(result.exitCode).toBe(143);
    await eventually(() => groupMembers(proc.pid).length === 0, 'process group gone');
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });

  it('a command that ignores TERM is killed after the grace period', async () => {
    const proc = RunProcess.start({
      argv: ['/bin/sh', '-c', "trap '' TERM; echo ready; while :; do sleep 1; done"],
      cwd: dir.path,
      env: process.env,
      killGraceMs: 300,
    });
    const io = collect(proc);
    await eventually(() => io.out().includes('ready'), 'started');
    proc.stop('cancel');
    const result = await proc.done;
    expect(result.signal).toBe('SIGKILL');
    expect(result.exitCode).toBe(137);
    await eventually(() => groupMembers(proc.pid).length === 0, 'process group gone');
  });

  it('a timeout stops the run and says so', async () => {
    const proc = RunProcess.start({ argv: ['sleep', '600'], cwd: dir.path, env: process.env, timeoutMs: 200 });
    const result = await proc.done;
    expect(result.stoppedBy).toBe('timeout');
    expect(result.exitCode).toBe(143);
  });

  it('processes left running when the command exits are killed, and their output is kept', async () => {
    const proc = RunProcess.start({
      argv: ['/bin/sh', '-c', '(sleep 600; echo never) & echo "bg $!"; echo done'],
      cwd: dir.path,
      env: process.env,
    });
    const io = collect(proc);
    const result = await proc.done;
    expect(result.exitCode).toBe(0);
    expect(result.killedLeftovers).toBe(true);
    expect(io.out()).toContain('done\n');
    const [bg] = pidsIn(io.out(), 'bg');
    await eventually(() => !alive(bg!), 'background process gone');
  });

  it('the run dies with its worker, even when the worker is killed with SIGKILL', async () => {
    const fixture = await bundleFixture(path.join(__dirname, 'fixtures', 'hold-run.ts'), dir.path);
    const holder = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    holder.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await eventually(() => pidsIn(out, 'group').length === 1 && pidsIn(out, 'child').length === 1, 'run started', 30_000);
    const [group] = pidsIn(out, 'group');
    const [child] = pidsIn(out, 'child');
    expect(signalGroup(group!, 0)).toBe(true);
    holder.kill('SIGKILL');
    await eventually(() => groupMembers(group!).length === 0 && !alive(child!), 'the run outlived its worker');
  });
});
