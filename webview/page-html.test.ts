import { describe, expect, it } from 'vitest';
import { runboardHtml } from './page-html';

describe('the page', () => {
  it('serves a page that loads only its own assets, scripts only with the nonce', () => {
    const html = runboardHtml({
      cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
      nonce: 'bm9uY2U=',
      scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js',
      styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.css',
      codiconsUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/codicon.css',
    });
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'nonce-bm9uY2U='");
    expect(csp).not.toContain('unsafe');
    expect(html).toContain('<script nonce="bm9uY2U=" src="https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js">');
    expect(html).toContain('id="vscode-codicon-stylesheet"');
    expect(html).toContain('<div id="root">');
  });
});
