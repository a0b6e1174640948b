// Secret runbook inputs travel sealed: AES-256-GCM with a key the editor, the CLI and the workers share (a file only
// they can read), so the database and its backups never hold them in clear. A worker without the key cannot run a
// runbook that needs one, and says so.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OcrError } from '../store/errors';
import { defaultDataFolder } from '../store/embedded';

const version = 'v1';

/** Where the key is: OCR_SECRET_KEY_FILE, else next to the embedded database in the data folder. */
export function secretKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.OCR_SECRET_KEY_FILE || path.join(defaultDataFolder(), 'secret.key');
}

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** The key in `file`; with `create`, a new random one is written there (0600) when there is none yet. */
  static fromFile(file: string, options: { create?: boolean } = {}): SecretBox {
    try {
      return new SecretBox(parseKey(readFileSync(file, 'utf8'), file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !options.create) {
        if (e instanceof OcrError) throw e;
        throw new OcrError('invalid_state', `cannot read the key for secret inputs at ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          'give this machine the same key file as the editor that queued the run (OCR_SECRET_KEY_FILE)');
      }
      const key = randomBytes(32);
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      return new SecretBox(key);
    }
  }

  seal(text: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const sealed = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return [version, iv.toString('base64'), cipher.getAuthTag().toString('base64'), sealed.toString('base64')].join('.');
  }

  open(sealed: string): string {
    const [v, iv, tag, data] = sealed.split('.');
    if (v !== version || !iv || !tag || data === undefined) throw new OcrError('invalid_input', 'a sealed secret input is not in a form this worker reads');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new OcrError('invalid_state', 'a secret input was sealed with another key than this worker has',
        'give this worker the key file of the editor or CLI that queued the run (OCR_SECRET_KEY_FILE)');
    }
  }
}

function parseKey(text: string, file: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new OcrError('invalid_state', `${file} does not hold a key for secret inputs (32 bytes, base64)`, 'delete it to make a new one, or copy the right one');
  return key;
}
