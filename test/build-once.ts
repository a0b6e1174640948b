// Tests that run the built `ocr` (real processes) need the bundles; build them once before any test file starts.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['esbuild.mjs'], { stdio: 'inherit' });
}
