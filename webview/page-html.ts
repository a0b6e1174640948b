// The Runboard's HTML page as the extension serves it (and the benchmark harness, under the same CSP): which built
// assets it loads, and a strict Content-Security-Policy with a fresh nonce per load. Not part of the protocol.

/** What the built page consists of, relative to the extension's `dist` folder. */
export const runboardAssets = { script: 'webview.js', style: 'webview.css', codicons: 'codicon.css' } as const;

/** Where the page's assets are served from for one load, and that load's nonce. */
export interface PageAssets {
  /** `webview.cspSource` */
  cspSource: string;
  /** fresh for every load: 16+ random bytes, base64 */
  nonce: string;
  /** `webview.asWebviewUri` of each asset */
  scriptUri: string;
  styleUri: string;
  codiconsUri: string;
  title?: string;
}

const escapeAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * The Runboard's HTML: only the built assets may load, scripts only with this load's nonce. The codicon stylesheet
 * carries the id `vscode-codicon-stylesheet` because @vscode-elements' icons look it up to load the font in their
 * shadow roots.
 */
export function runboardHtml(page: PageAssets): string {
  const nonce = escapeAttr(page.nonce);
  const csp = [
    "default-src 'none'",
    `img-src ${page.cspSource} data:`,
    `font-src ${page.cspSource}`,
    `style-src ${page.cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <title>${escapeAttr(page.title ?? 'Runboard')}</title>
  <link rel="stylesheet" id="vscode-codicon-stylesheet" href="${escapeAttr(page.codiconsUri)}" nonce="${nonce}">
  <link rel="stylesheet" href="${escapeAttr(page.styleUri)}" nonce="${nonce}">
</head>
<body>
  <div id="root"></div>
  <script nonce="${nonce}" src="${escapeAttr(page.scriptUri)}"></script>
</body>
</html>`;
}
