// The built `ocr` (dist/ocr.js, from `npm run build`) as a test runs it: a process of its own, its exit code and output.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';

export const ocrJs = path.resolve('dist/ocr.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** over this process's environment */
  env?: NodeJS.ProcessEnv;
  /** what the command reads on stdin (nothing when left out) */
  stdin?: string;
  uid?: number;
  gid?: number;
}

export function runOcr(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ocrJs, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      uid: options.uid,
      gid: options.gid,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    child.stdin.on('error', () => undefined); // a command that exits without reading its stdin
    child.stdin.end(options.stdin ?? '');
  });
}

/** One `ocr: …` line on stderr, nothing on stdout, a non-zero exit. */
export function refused(r: CliResult, line: RegExp, code = 1): void {
  expect(r.stdout).toBe('');
  expect(r.code).toBe(code);
  expect(r.stderr).toMatch(/^ocr: [^\n]*\n$/);
  expect(r.stderr).toMatch(line);
}
