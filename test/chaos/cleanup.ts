// Everything the suite creates registers how to undo it here: databases, temporary folders, the embedded server, the
// network namespace and its links, processes. It is undone in reverse order at the end of a phase, at the end of the
// suite, on an error, and on Ctrl-C or SIGTERM; what can be undone without waiting (killing processes, deleting the
// namespace) is undone even when the process exits some other way.
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';

interface Undo {
  name: string;
  run: () => Promise<void> | void;
  /** the part that can run inside process.on('exit'): synchronous */
  atExit?: () => void;
}

const undos: Undo[] = [];
const children = new Set<ChildProcess>();
let installed = false;
let shuttingDown = false;

/** True once an interrupt started the cleanup: processes dying now are not news. */
export function isShuttingDown(): boolean {
  return shuttingDown;
}

/** Registers an undo step; the answer runs it now (once) and forgets it. */
export function onCleanup(name: string, run: () => Promise<void> | void, atExit?: () => void): () => Promise<void> {
  const undo: Undo = { name, run, atExit };
  undos.push(undo);
  let done: Promise<void> | undefined;
  return () => {
    done ??= (async () => {
      const i = undos.indexOf(undo);
      if (i !== -1) undos.splice(i, 1);
      await runStep(undo);
    })();
    return done;
  };
}

/** A child process that is SIGKILLed by every cleanup, unless it has exited. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function runStep(undo: Undo): Promise<void> {
  try {
    await undo.run();
  } catch (e) {
    process.stderr.write(`cleanup: ${undo.name} failed: ${(e as Error).message}\n`);
  }
}

/** Kills every tracked process and undoes every step, last registered first. */
export async function cleanUpEverything(): Promise<void> {
  shuttingDown = true;
  for (const c of children) c.kill('SIGKILL');
  while (undos.length > 0) await runStep(undos.pop()!);
}

/** Ctrl-C and SIGTERM clean up and exit 130; a plain exit kills what it can synchronously. */
export function installSignalHandlers(say: (line: string) => void): void {
  if (installed) return;
  installed = true;
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      say(`${signal}: stopping the workers, removing the network namespace, dropping the databases`);
      void cleanUpEverything().finally(() => process.exit(130));
    });
  }
  process.on('exit', () => {
    for (const c of children) {
      try {
        c.kill('SIGKILL');
      } catch {
        // gone
      }
    }
    for (const u of [...undos].reverse()) {
      try {
        u.atExit?.();
      } catch {
        // best effort
      }
    }
  });
}

/** Runs a program and answers its stdout; rejects with its stderr when it fails. */
export function run(file: string, args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: options.timeoutMs ?? 120_000, env: options.env ?? process.env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${(stderr || error.message).trim()}`));
      else resolve(stdout);
    });
  });
}

/** The same, synchronous and quiet: for cleanup at exit. */
export function runSync(file: string, args: string[]): void {
  try {
    execFileSync(file, args, { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // best effort
  }
}
