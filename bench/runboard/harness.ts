// Serves the Runboard's dev harness on the loopback interface: the outer page (webview/dev/fake-host.ts, where VS Code's
// webview host frame would be) on 127.0.0.1, and the Runboard page itself — the HTML the extension serves, with its CSP
// and a fresh nonce per load — on localhost, another site, so Chromium gives it its own renderer process like a real
// webview. Only the built assets in dist/ and the two harness scripts are served.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { runboardAssets, runboardHtml } from '../../webview/page-html';

/** esbuild and Playwright are used from the project's node_modules at run time: neither can be bundled. */
export const projectRequire = createRequire(path.join(process.cwd(), 'package.json'));

const types: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ttf': 'font/ttf',
  '.map': 'application/json',
  '.html': 'text/html; charset=utf-8',
};

export interface Harness {
  /** the outer page; add ?probe=N&lanes=L for the benchmark, ?theme=light|dark|high-contrast for a look */
  hostUrl: string;
  close(): Promise<void>;
}

async function bundle(entry: string): Promise<string> {
  const { build } = projectRequire('esbuild') as typeof import('esbuild');
  const result = await build({ entryPoints: [entry], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022', minify: true, logLevel: 'warning' });
  return result.outputFiles[0]!.text;
}

export async function startHarness(root = process.cwd()): Promise<Harness> {
  const dist = path.join(root, 'dist');
  const assets = [runboardAssets.script, runboardAssets.style, runboardAssets.codicons, 'codicon.ttf'];
  const missing = assets.filter((a) => !existsSync(path.join(dist, a)));
  if (missing.length > 0) throw new Error(`the Runboard is not built (missing ${missing.map((m) => `dist/${m}`).join(', ')}): run \`npm run build\` first`);
  const scripts: Record<string, string> = {
    '/dev/fake-host.js': await bundle(path.join(root, 'webview/dev/fake-host.ts')),
    '/dev/vscode-shim.js': await bundle(path.join(root, 'webview/dev/vscode-shim.ts')),
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const origin = `http://${req.headers.host ?? 'localhost'}`;
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (url.pathname === '/' || url.pathname === '/host.html') {
      return send(200, types['.html']!, `<!DOCTYPE html><html><head><meta charset="UTF-8"><title>Runboard harness</title>
<style>html,body{margin:0;height:100%;background:#1f1f1f}iframe{border:0;width:100%;height:100%;display:block}</style></head>
<body><script src="/dev/fake-host.js"></script></body></html>`);
    }
    if (url.pathname === '/runboard.html') {
      // What the extension's panel serves, plus the harness's stand-in for VS Code's own preamble, under the same nonce.
      const nonce = randomBytes(16).toString('base64');
      const html = runboardHtml({
        cspSource: origin,
        nonce,
        scriptUri: `${origin}/dist/${runboardAssets.script}`,
        styleUri: `${origin}/dist/${runboardAssets.style}`,
        codiconsUri: `${origin}/dist/${runboardAssets.codicons}`,
      }).replace(`<script nonce="${nonce}"`, `<script nonce="${nonce}" src="${origin}/dev/vscode-shim.js"></script>\n  <script nonce="${nonce}"`);
      return send(200, types['.html']!, html);
    }
    if (url.pathname === '/favicon.ico') return send(204, 'text/plain', '');
    const script = scripts[url.pathname];
    if (script !== undefined) return send(200, types['.js']!, script);
    const name = url.pathname.startsWith('/dist/') ? url.pathname.slice('/dist/'.length) : '';
    if (/^[\w.-]+$/.test(name) && (assets.includes(name) || assets.includes(name.replace(/\.map$/, '')))) {
      const file = path.join(dist, name);
      if (existsSync(file)) return send(200, types[path.extname(name)] ?? 'application/octet-stream', readFileSync(file));
    }
    send(404, 'text/plain', 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    hostUrl: `http://127.0.0.1:${port}/host.html?page=${encodeURIComponent(`http://localhost:${port}/runboard.html`)}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
