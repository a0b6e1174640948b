// The `ocr` the workers run: dist/ocr.js as built before the suite started, copied beside it (so node_modules still
// resolves) and used from there, so a build made while the suite runs does not change the workers under it.
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { onCleanup } from './cleanup';

export const builtOcr = path.resolve(__dirname, '..', 'ocr.js');
let current = builtOcr;

export function ocrJs(): string {
  return current;
}

export function snapshotOcr(): void {
  const dir = path.resolve(__dirname, '..', `.chaos-${process.pid}`);
  const remove = () => rmSync(dir, { recursive: true, force: true });
  onCleanup(`folder ${dir}`, remove, remove);
  mkdirSync(dir, { recursive: true });
  copyFileSync(builtOcr, path.join(dir, 'ocr.js'));
  if (existsSync(`${builtOcr}.map`)) copyFileSync(`${builtOcr}.map`, path.join(dir, 'ocr.js.map'));
  current = path.join(dir, 'ocr.js');
}
