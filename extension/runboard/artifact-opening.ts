// How the Runboard opens an artifact of a run, decided from the artifact alone (no editor here, so it is tested like
// the store): a diff in the diff editor; a link in the browser, and only when it is an http or https address without
// credentials; anything else (a file a step wrote, a log, the manifest) as text in a read-only editor, the manifest as
// JSON.
import type { Artifact } from '../../domain';
import { OcrError } from '../../worker/store/errors';

export type ArtifactOpening = { kind: 'diff' } | { kind: 'external'; url: string } | { kind: 'document'; language: string | undefined };

/** The address, when `text` is an absolute http or https URL without a user or password in it. */
export function httpUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password) return undefined;
  return url.href;
}

export function artifactOpening(artifact: Pick<Artifact, 'kind' | 'name' | 'content' | 'meta' | 'mime'>): ArtifactOpening {
  switch (artifact.kind) {
    case 'diff':
      return { kind: 'diff' };
    case 'link': {
      const stated = typeof artifact.meta['url'] === 'string' ? artifact.meta['url'] : (artifact.content ?? '');
      const url = httpUrl(stated);
      if (!url) throw new OcrError('invalid_input', `the link "${artifact.name}" is not an http or https address, so it is not opened`);
      return { kind: 'external', url };
    }
    case 'manifest':
      return { kind: 'document', language: 'json' };
    default:
      return { kind: 'document', language: artifact.mime === 'application/json' || /\.json$/i.test(artifact.name) ? 'json' : undefined };
  }
}

/** The text a read-only editor shows of a file, log or manifest artifact. */
export function documentText(artifact: Pick<Artifact, 'name' | 'content' | 'meta' | 'size'>): string {
  if (artifact.content === null) return `${artifact.name}: its content was not kept.\n`;
  if (artifact.meta['encoding'] === 'base64') {
    const size = typeof artifact.meta['size'] === 'number' ? artifact.meta['size'] : artifact.size;
    return `${artifact.name} is a binary file (${size} bytes); it is not shown as text.\n`;
  }
  return artifact.content;
}
