// Test support: the ops-api edge function served by Deno (from the npm package `deno`, offline: its npm imports come
// from this repository's node_modules) on a free loopback port, against a database of the test server; and access
// tokens minted with the secret it verifies, as Supabase's local stack does.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { SignJWT } from 'jose';
import { repoRoot } from '../../test/e2e/harness/paths';

// found from package.json, not from this file: the UI tests' bundles in dist/ start the function too
export { repoRoot };
const functionDir = path.join(repoRoot, 'supabase/functions/ops-api');

/** The deno binary the npm package installed. */
export function denoBinary(): string {
  const candidates = [
    path.join(repoRoot, 'node_modules/@deno/linux-x64-glibc/deno'),
    path.join(repoRoot, 'node_modules/@deno/linux-arm64-glibc/deno'),
    path.join(repoRoot, 'node_modules/@deno/darwin-arm64/deno'),
    path.join(repoRoot, 'node_modules/@deno/darwin-x64/deno'),
    path.join(repoRoot, 'node_modules/deno/deno'),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error('deno is not installed: run npm install (it is a devDependency)');
  return found;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface OpsApi {
  /** the function's URL, as Supabase serves it: …/functions/v1/ops-api */
  url: string;
  /** what the function printed */
  output: string[];
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface OpsApiOptions {
  databaseUrl: string;
  jwtSecret: string;
  /** how long one event stream lasts (OCR_STREAM_SECONDS) */
  streamSeconds?: number;
  env?: Record<string, string>;
}

export async function startOpsApi(options: OpsApiOptions): Promise<OpsApi> {
  const port = await freePort();
  const output: string[] = [];
  const child = spawn(
    denoBinary(),
    [
      'run',
      '--no-prompt',
      '--node-modules-dir=manual',
      '--config', path.join(functionDir, 'deno.json'),
      '--allow-net', '--allow-env', '--allow-read',
      path.join(functionDir, 'index.ts'),
    ],
    {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        NO_COLOR: '1',
        ...(process.env.DENO_DIR ? { DENO_DIR: process.env.DENO_DIR } : {}),
        PORT: String(port),
        HOST: '127.0.0.1',
        OCR_DATABASE_URL: options.databaseUrl,
        OCR_JWT_SECRET: options.jwtSecret,
        ...(options.streamSeconds ? { OCR_STREAM_SECONDS: String(options.streamSeconds) } : {}),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ops-api did not start within 60 s:\n${output.join('')}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (/ops-api listening on/.test(output.join(''))) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ops-api exited (${code}) before it listened:\n${output.join('')}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}/functions/v1/ops-api`,
    output,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** An access token as Supabase Auth issues it for a signed-in user (HS256 with the project's JWT secret). */
export async function userJwt(secret: string, userId: string, options: { email?: string; role?: string; expiresIn?: string | number } = {}): Promise<string> {
  return new SignJWT({ role: options.role ?? 'authenticated', aud: 'authenticated', ...(options.email ? { email: options.email } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '1h')
    .sign(new TextEncoder().encode(secret));
}
