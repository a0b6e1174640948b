// Queuing a runbook run: the runbook file's text is published (the version a worker anywhere will run, whatever
// happens to the file), its inputs checked and typed (secret ones sealed: the database never holds them in clear),
// and the run queued in a lane. The palette, the Runbooks view, the Runboard and `ocr runbook run` call this.
import { defaultMaxAttempts, defaultPriority, InputProblem, type Run, runbookEnvOf, type RunbookSpec, resolveInputs } from '../../domain';
import type { RunbookFile } from '../runbooks/files';
import type { SecretBox } from '../runbooks/secrets';
import { OcrError } from '../store/errors';
import type { Store } from '../store/store';

export interface RunbookRunRequest {
  session_id: string;
  /** the lane; the runbook's own when absent */
  lane?: string;
  /** values by input key: typed already, or text to read as the input's type */
  inputs?: Record<string, unknown>;
  priority?: number;
}

export async function queueRunbookRun(store: Store, file: RunbookFile, request: RunbookRunRequest, secrets: () => SecretBox): Promise<Run> {
  const { runbook } = file;
  const lane = request.lane ?? runbook.lane;
  if (!lane) throw new OcrError('invalid_input', `lane: runbook ${runbook.name} names no lane of its own`, 'choose a lane (--lane A)');
  let values;
  try {
    values = resolveInputs(runbook, request.inputs ?? {});
  } catch (e) {
    if (e instanceof InputProblem) throw new OcrError('invalid_input', e.message, 'give it with --input key=value, or in the runbook as its default');
    throw e;
  }
  if (runbook.policy.concurrency === 'forbid') {
    const active = await store.listRuns({ sessionId: request.session_id, status: ['queued', 'running', 'waiting'], limit: 10_000 });
    const other = active.find((r) => r.executor === 'runbook' && r.spec.name === runbook.name);
    if (other) {
      throw new OcrError('invalid_state', `runbook ${runbook.name} already has a run in this session (${other.id.slice(0, 8)}, ${other.status}) and its policy forbids two at once`, 'wait for it, or cancel it');
    }
  }
  const template = await store.publishTemplate({ name: runbook.name, text: file.text, sha256: file.sha256, runbook, source: file.file });
  const secretKeys = new Set(runbook.inputs.filter((i) => i.secret).map((i) => i.key));
  const inputs: RunbookSpec['inputs'] = {};
  for (const [k, v] of Object.entries(values)) inputs[k] = secretKeys.has(k) ? { sealed: secrets().seal(String(v)) } : v;
  const spec: RunbookSpec = { template_id: template.id, name: runbook.name, version: template.version, inputs, env: runbookEnvOf(runbook, values) ?? null };
  return store.createRun({
    session_id: request.session_id,
    lane,
    intent: `${runbook.title} (runbook ${runbook.name} v${template.version})`,
    executor: 'runbook',
    spec,
    priority: request.priority ?? defaultPriority,
    // attempts cover a worker lost mid-run too (its lease expires and another resumes the run); how often a failed run
    // is tried again is the runbook's policy, which the worker applies
    max_attempts: Math.max(defaultMaxAttempts, runbook.policy.max_attempts),
  });
}
