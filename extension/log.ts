import * as vscode from 'vscode';

export interface Log {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
}

/**
 * The "Ops Control Room" output channel, mirrored to the extension host's console: that console is what the developer
 * tools show and what the end-to-end harness records in its test log.
 */
export function createLog(context: vscode.ExtensionContext): Log {
  const channel = vscode.window.createOutputChannel('Ops Control Room', { log: true });
  context.subscriptions.push(channel);
  return {
    info(message) {
      channel.info(message);
      console.log(`[ocr] ${message}`);
    },
    warn(message) {
      channel.warn(message);
      console.warn(`[ocr] ${message}`);
    },
    error(message, error) {
      const detail = error instanceof Error ? `${message}: ${error.message}` : message;
      channel.error(detail);
      console.error(`[ocr] ${detail}`);
    },
  };
}
