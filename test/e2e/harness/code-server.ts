// Starts code-server in a sandbox: its own process group (so the extension host and watchers die with it), bound to
// 127.0.0.1 (webviews need the secure context of a loopback origin), with its output kept in a log file.
import { spawn } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { codeServerBin, requireCodeServer } from './paths';
import { type Sandbox, killProcessGroup, sleep } from './sandbox';

export interface CodeServerOptions {
  /** 0 lets the system choose a free port. */
  port?: number;
  /** Where code-server's own output goes; it is noisy, so it stays out of the test log. */
  logFile: string;
  /** Also receives code-server's output, for instance to show it in a terminal. */
  onOutput?: (text: string) => void;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
  /** Leave workspace trust on, so a folder opens untrusted (restricted mode) until someone trusts it. */
  workspaceTrust?: boolean;
}

export interface CodeServer {
  readonly port: number;
  /** host:port, as used in `vscode-remote://` URIs. */
  readonly authority: string;
  readonly origin: string;
  /** The workbench URL for a folder, with an optional development payload (extensionDevelopmentPath and friends). */
  url(options?: { folder?: string; payload?: [string, string][] }): string;
  /** Resolves when code-server exits, whoever ended it. */
  readonly exit: Promise<void>;
  stop(): Promise<void>;
}

export async function startCodeServer(sandbox: Sandbox, options: CodeServerOptions): Promise<CodeServer> {
  requireCodeServer();
  const config = path.join(sandbox.root, 'code-server.yaml');
  writeFileSync(config, `bind-addr: 127.0.0.1:${options.port ?? 0}\nauth: none\ncert: false\n`);
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(codeServerBin, [
    '--config', config,
    '--user-data-dir', sandbox.userDataDir,
    '--extensions-dir', sandbox.extensionsDir,
    '--disable-telemetry', '--disable-update-check', ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']), '--disable-getting-started-override',
    '--ignore-last-opened',
    ...(options.extraArgs ?? []),
  ], { cwd: sandbox.root, env: { ...sandbox.env, ...options.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${codeServerBin}`);
  const pid = child.pid;
  sandbox.adoptProcessGroup(pid);

  let startup: string | undefined = '';
  let announcePort: (port: number) => void = () => undefined;
  const listening = new Promise<number>((resolve) => (announcePort = resolve));
  const onOutput = (chunk: Buffer) => {
    const text = chunk.toString();
    log.write(text);
    options.onOutput?.(text);
    if (startup === undefined) return;
    startup += text;
    const match = /HTTP server listening on https?:\/\/127\.0\.0\.1:(\d+)/.exec(startup);
    if (match) {
      startup = undefined;
      announcePort(Number(match[1]));
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`code-server exited (${code ?? signal}); see ${options.logFile}`)));
  });
  exited.catch(() => undefined);
  const exit = exited.catch(() => undefined);

  const stop = async () => {
    await killProcessGroup(pid);
    child.stdout.off('data', onOutput);
    child.stderr.off('data', onOutput);
    await new Promise<void>((resolve) => log.end(resolve));
  };
  const timeoutMs = options.startTimeoutMs ?? 90_000;
  try {
    let timer: NodeJS.Timeout | undefined;
    const port = await Promise.race([
      listening,
      exited,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`code-server did not listen within ${timeoutMs} ms; see ${options.logFile}`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    const origin = `http://127.0.0.1:${port}`;
    await waitHealthy(`${origin}/healthz`, timeoutMs);
    return {
      port,
      authority: `127.0.0.1:${port}`,
      origin,
      url({ folder, payload } = {}) {
        const query = new URLSearchParams();
        if (folder) query.set('folder', folder);
        else query.set('ew', 'true');
        if (payload) query.set('payload', JSON.stringify(payload));
        return `${origin}/?${query.toString()}`;
      },
      exit,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await new Promise<number>((resolve) => {
      http.get(url, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', () => resolve(0));
    });
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await sleep(200);
  }
}
