// The extension under test, activated, and the API it hands to these tests.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { OcrApi } from '../../../extension/extension';

export const extensionId = 'ops-control-room.ops-control-room';

export async function activateOcr(): Promise<OcrApi> {
  const extension = vscode.extensions.getExtension<OcrApi>(extensionId);
  assert.ok(extension, `${extensionId} is not loaded`);
  return extension.activate();
}
