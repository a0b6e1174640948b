// How the Runboard opens an artifact: links only when they are http(s) without credentials, everything else as a
// read-only document (the manifest as JSON), binary files described rather than shown.
import { describe, expect, it } from 'vitest';
import { artifactOpening, documentText, httpUrl } from './artifact-opening';

const artifact = (kind: 'diff' | 'file' | 'link' | 'log' | 'manifest', more: { name?: string; content?: string | null; meta?: Record<string, unknown>; mime?: string } = {}) => ({
  kind,
  name: more.name ?? 'thing',
  content: more.content === undefined ? 'text' : more.content,
  meta: more.meta ?? {},
  mime: more.mime ?? 'text/plain',
  size: 4,
});

describe('opening an artifact', () => {
  it('opens a link in the browser only when it is an http or https address without credentials', () => {
    expect(artifactOpening(artifact('link', { content: 'https://example.com/r/1', meta: { url: 'https://example.com/r/1' } }))).toEqual({ kind: 'external', url: 'https://example.com/r/1' });
    expect(artifactOpening(artifact('link', { content: ' http://example.com ' }))).toEqual({ kind: 'external', url: 'http://example.com/' });
    for (const bad of ['javascript:alert(1)', 'file:///etc/passwd', 'vscode://ops-control-room.ops-control-room/x', 'command:workbench.action.quit', 'https://user:pw@example.com/', 'example.com', '']) {
      expect(httpUrl(bad), bad).toBeUndefined();
      expect(() => artifactOpening(artifact('link', { name: 'Report', content: bad, meta: { url: bad } })), bad).toThrow(/the link "Report" is not an http or https address/);
    }
    // the meta's address is the one checked, not a different one in the content
    expect(() => artifactOpening(artifact('link', { content: 'https://example.com', meta: { url: 'file:///etc/passwd' } }))).toThrow(/not an http or https/);
  });

  it('opens the manifest as JSON, files and logs as text, and a diff in the diff editor', () => {
    expect(artifactOpening(artifact('manifest', { name: 'manifest.json' }))).toEqual({ kind: 'document', language: 'json' });
    expect(artifactOpening(artifact('file', { name: 'report.txt' }))).toEqual({ kind: 'document', language: undefined });
    expect(artifactOpening(artifact('file', { name: 'out.json' }))).toEqual({ kind: 'document', language: 'json' });
    expect(artifactOpening(artifact('log'))).toEqual({ kind: 'document', language: undefined });
    expect(artifactOpening(artifact('diff'))).toEqual({ kind: 'diff' });
  });

  it('shows a text file as it is, and says what a binary file is instead of showing it', () => {
    expect(documentText(artifact('file', { content: 'all good\n' }))).toBe('all good\n');
    expect(documentText(artifact('file', { name: 'logo.png', content: 'iVBORw0KGgo=', meta: { encoding: 'base64', size: 8 } }))).toBe('logo.png is a binary file (8 bytes); it is not shown as text.\n');
    expect(documentText(artifact('file', { name: 'gone.txt', content: null }))).toMatch(/not kept/);
  });
});
