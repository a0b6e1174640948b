// The extension host runs in code-server's Node process, but VS Code forwards its console to the workbench page, where
// Playwright can read it. This module turns those messages back into plain lines: the extension host's go to the test
// log, everything else goes to a log file kept with the test output.
import { createWriteStream } from 'node:fs';
import type { ConsoleMessage, Page } from 'playwright-core';

export interface ConsoleCapture {
  /** Resolves once every message received so far has been written (messages are handled in order). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface ConsoleCaptureOptions {
  /** Receives the extension host's console lines. */
  onExtensionHostLine(line: string): void;
  /** Receives workbench errors that are not known offline noise. */
  onWorkbenchError?(line: string): void;
  logFile: string;
  /**
   * In an extension-test run VS Code logs the extension host's console through its own logger, without the
   * "[Extension Host]" label, so there every log line that is not known workbench chatter counts as the extension host's.
   */
  extensionTestRun?: boolean;
}

const extensionHostPrefix = '%c[Extension Host] %c';
const unserializable = Symbol('unserializable');
const workbenchLevel = /^%c\s*(TRACE|DEBUG|INFO|WARN|ERR)$/;
// Expected without network access or in a fresh profile; see the testing notes in test/e2e/README.md.
const offlineNoise = /open-vsx\.org|getaddrinfo|vsda|ENOTFOUND|controllerchange|service worker|ChatSessionStore|Failed to load resource/i;
const workbenchChatter = /^(Resolving connection token|Resolved connection token|Creating a socket|Updating additional builtin extensions|\[Service Worker\]|ChatSessionStore|Creation of workbench contribution|Overwriting extension|Started local extension host|Extension host \(|Ignoring the error while validating workspace folder)/;

export function captureConsole(page: Page, options: ConsoleCaptureOptions): ConsoleCapture {
  const file = createWriteStream(options.logFile, { flags: 'a' });
  let queue = Promise.resolve();
  const handle = async (message: ConsoleMessage) => {
    const values = await Promise.all(message.args().map((arg) => arg.jsonValue().catch((): unknown => unserializable)));
    const first = values[0];
    if (typeof first === 'string' && first.startsWith(extensionHostPrefix)) {
      // VS Code adds two %c styles in front of the extension's own format string.
      const line = formatConsoleArgs([first.slice(extensionHostPrefix.length), ...values.slice(3)]);
      file.write(`[extension host] ${line}\n`);
      options.onExtensionHostLine(line);
      return;
    }
    const level = typeof first === 'string' ? workbenchLevel.exec(first)?.[1] : undefined;
    let line = level ? formatConsoleArgs(values.slice(2)) : formatConsoleArgs(values);
    // Error objects and the like arrive as `{}`; the browser's own rendering of the message says more.
    if (values.length === 0 || values.some((v) => v === unserializable || (typeof v === 'object' && v !== null && Object.keys(v).length === 0))) line = message.text();
    if (options.extensionTestRun && level && level !== 'TRACE' && level !== 'DEBUG' && !workbenchChatter.test(line) && !offlineNoise.test(line)) {
      file.write(`[extension host] ${line}\n`);
      options.onExtensionHostLine(line);
      return;
    }
    file.write(`[workbench ${level ?? message.type()}] ${line}\n`);
    if ((level === 'ERR' || message.type() === 'error') && line.trim() && !offlineNoise.test(line)) options.onWorkbenchError?.(line);
  };
  const listener = (message: ConsoleMessage) => {
    queue = queue.then(() => handle(message)).catch(() => undefined);
  };
  page.on('console', listener);
  return {
    flush: () => queue,
    async close() {
      page.off('console', listener);
      await queue;
      await new Promise<void>((resolve) => file.end(resolve));
    },
  };
}

/** printf-style formatting as the browser console does it: %s %d %i %f %o %O %j, %c (styles, dropped) and %%. */
export function formatConsoleArgs(values: unknown[]): string {
  const [format, ...rest] = values;
  if (typeof format !== 'string') return values.map(show).join(' ');
  let next = 0;
  const text = format.replace(/%[sdifoOjc%]/g, (token) => {
    if (token === '%%') return '%';
    if (next >= rest.length) return token;
    const value = rest[next++];
    return token === '%c' ? '' : show(value);
  });
  return [text, ...rest.slice(next).map(show)].join(' ');
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
}
