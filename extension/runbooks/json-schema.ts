// The JSON Schema of a runbook file (.ocr/runbooks/<name>.yaml), generated from the domain's zod schema so the two
// cannot drift: schemas/runbook.schema.json, which the extension contributes through `yamlValidation` (the Red Hat
// YAML extension then completes, describes and checks runbook files as they are typed). zod's output gives the
// shapes, enums, patterns and required fields; this adds what it cannot say by itself: a description of every field,
// the messages of the domain's patterns, snippets for completion, and the refinements that JSON Schema can express (a
// step is one of run, agent or approval; an enum input has values and no other does; a default of the input's type;
// env and `if:` in their grammar; no placeholders in a shell command). What it cannot express (a key used twice, a
// placeholder naming no input, the name matching the file) is left to the editor's own diagnostics.
// Regenerate with `npm run schema:runbook`; extension/runbooks/json-schema.test.ts fails when the file is stale.
import path from 'node:path';
import { z } from 'zod';
import { Runbook, runbookEnvs, runbookKinds } from '../../domain';

/** Where the schema is kept, from the project's root. */
export const runbookSchemaFile = path.join('schemas', 'runbook.schema.json');

type JsonSchema = Record<string, unknown> & {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  required?: string[];
  anyOf?: JsonSchema[];
};

/**
 * A description for every field, by its path in the file (`inputs[].key`). The test checks that every property of the
 * generated schema has one, so a field added to the domain without a word here fails it.
 */
export const fieldDescriptions: Record<string, string> = {
  name: 'The runbook\'s name: lowercase letters, digits and "-", the same as the file\'s name (deploy-web.yaml holds `name: deploy-web`).',
  title: 'What the Runbooks view, the Runboard and the run\'s intent call it.',
  description: 'What it does and when to run it.',
  kind: 'What sort of runbook it is (shown beside its title).',
  env: 'Where it acts: dev, staging or prod, or an input\'s value, `"{{ inputs.env }}"`. The editor asks for confirmation before it queues a run whose env is prod.',
  lane: 'The lane a run takes when none is chosen (A, B, …).',
  inputs: 'The values a run is given when it is queued: the editor asks for them, `ocr runbook run` takes `--input key=value`. A step reads one as `$OCR_INPUT_<KEY>`, or as `{{ inputs.key }}` in an argument of a `run` list, a prompt, an approval message or a variable.',
  'inputs[]': 'One input.',
  'inputs[].key': 'How steps name it: `{{ inputs.key }}`, or `$OCR_INPUT_KEY` in a shell command. A lowercase letter, then lowercase letters, digits or "_".',
  'inputs[].label': 'What the editor asks for (the key when absent).',
  'inputs[].type': 'The type of its value.',
  'inputs[].values': 'The choices of an enum input (an enum input needs them, no other input has them).',
  'inputs[].default': 'The value when none is given, of the input\'s type.',
  'inputs[].required': 'Whether a run needs a value (given or the default).',
  'inputs[].secret': 'Never stored or logged in clear: sealed in the queue with the key shared by the editor, the CLI and the workers, and masked as *** in every log line.',
  'inputs[].description': 'More about it, shown when the editor asks for it.',
  steps: 'What a run does, in order. Each step is exactly one of `run` (a shell command or a program with its arguments), `agent` (a coding-agent prompt) or `approval` (a gate that parks the run until someone approves or rejects it).',
  'steps[]': 'One step: exactly one of run, agent or approval.',
  'steps[].id': 'The step\'s id, unique in the runbook: a lowercase letter, then lowercase letters, digits, "-" or "_".',
  'steps[].title': 'What the run\'s log and the Runboard call the step (the id when absent).',
  'steps[].env': 'More environment variables for the step. Values may hold `{{ inputs.key }}` (they are data, never shell text).',
  'steps[].timeout': 'Seconds the step may take (the policy\'s step_timeout when absent).',
  'steps[].retry': 'Tries the step again when it fails.',
  'steps[].retry.max_attempts': 'Tries in all, the first one included.',
  'steps[].retry.backoff': 'How the wait between tries grows.',
  'steps[].retry.initial_seconds': 'The first wait between tries, in seconds.',
  'steps[].continue_on_error': 'Whether the run goes on when this step fails.',
  'steps[].if': 'Runs the step only when this holds: `inputs.key`, `!inputs.key`, `inputs.key == \'value\'`, `inputs.key != \'value\'`, `env == \'prod\'`.',
  'steps[].run': 'A shell command (inputs as `"$OCR_INPUT_<KEY>"`, never `{{ }}`), or a list: a program and its arguments, each of which may be a `{{ inputs.key }}` placeholder.',
  'steps[].agent': 'A prompt for a coding agent, run in the lane\'s worktree.',
  'steps[].agent.profile': 'The agent profile (claude, codex, gemini, aider or one of ocr.agents.profiles); the worker\'s default when absent.',
  'steps[].agent.prompt': 'The prompt; may hold `{{ inputs.key }}`.',
  'steps[].approval': 'A gate: the run waits (its lane kept for it) until someone approves it, or ends canceled when someone rejects it.',
  'steps[].approval.message': 'What the person approving is asked; may hold `{{ inputs.key }}`.',
  'steps[].approval.approvers': 'Who is expected to decide (shown with the request).',
  policy: 'How runs of this runbook are run.',
  'policy.timeout': 'Seconds the whole run may take.',
  'policy.step_timeout': 'Seconds a step that names no timeout may take.',
  'policy.max_attempts': 'Attempts of the whole run: a failed run with attempts left is queued again, later.',
  'policy.concurrency': 'Whether two runs of this runbook may be queued, running or waiting in one session at once.',
};

const enumDescriptions: Record<string, Record<string, string>> = {
  kind: {
    deploy: 'ships a version to an environment',
    healthcheck: 'checks that services answer',
    spec: 'writes or checks a specification, often with a coding agent',
    incident: 'the first steps of an incident response',
    schema_sync: 'brings a database schema in step',
    custom: 'anything else',
  },
  env: { dev: 'a development environment', staging: 'a staging environment', prod: 'production: the editor asks for confirmation before it queues a run' },
  'inputs[].type': { string: 'text', number: 'a number', boolean: 'true or false', enum: 'one of `values`' },
  'steps[].retry.backoff': { exponential: 'the wait doubles after each try', fixed: 'the same wait between tries' },
  'policy.concurrency': { allow: 'any number at once', forbid: 'one at a time: queuing another is refused while one is queued, running or waiting' },
};

// The domain's grammar of `env` and `if:` (domain/runbook.ts), as JSON Schema patterns; the test holds them to it.
const envInputPattern = '^\\{\\{\\s*inputs\\.[a-z][a-z0-9_]*\\s*\\}\\}$';
const conditionPattern = "^\\s*!?\\s*(inputs\\.[a-z][a-z0-9_]*|env)\\s*((==|!=)\\s*'[^']*'\\s*)?$";
const noPlaceholderPattern = '^(?![\\s\\S]*\\{\\{\\s*inputs\\.)';

const snippets = {
  root: [
    {
      label: 'runbook',
      description: 'A runbook with an input and a step',
      body: { name: '${1:name}', title: '${2:Title}', kind: `\${3|${['custom', ...runbookKinds.filter((k) => k !== 'custom')].join(',')}|}`, lane: '${4:A}', inputs: [{ key: '${5:target}', required: true }], steps: [{ id: '${6:first}', run: '${7:echo "\\$OCR_INPUT_TARGET"}' }] },
    },
  ],
  step: [
    { label: 'shell step', description: 'A shell command', body: { id: '${1:id}', run: '${2:command}' } },
    { label: 'program step', description: 'A program and its arguments (placeholders allowed)', body: { id: '${1:id}', run: ['${2:program}', '${3:{{ inputs.key \\}\\}}'] } },
    { label: 'agent step', description: 'A prompt for a coding agent', body: { id: '${1:id}', agent: { prompt: '${2:prompt}' } } },
    { label: 'approval step', description: 'A gate someone approves or rejects', body: { id: '${1:approve}', approval: { message: '${2:Go on?}' } } },
  ],
  input: [
    { label: 'text input', body: { key: '${1:key}', label: '${2:Label}', required: true } },
    { label: 'enum input', body: { key: '${1:env}', type: 'enum', values: ['${2:staging}', '${3:prod}'], default: '${2:staging}' } },
    { label: 'secret input', body: { key: '${1:token}', secret: true, required: true } },
  ],
};

/** The JSON Schema (draft-07, which the YAML extension reads) of a runbook file. */
export function runbookJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(Runbook, {
    io: 'input',
    target: 'draft-7',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      const message = patternMessage(zodSchema);
      if (message) (jsonSchema as JsonSchema).patternErrorMessage = message;
    },
  }) as JsonSchema;
  const schema: JsonSchema = {
    $schema: generated.$schema,
    $comment: 'Generated from domain/runbook.ts by `npm run schema:runbook`: edit that, not this.',
    title: 'Ops Control Room runbook',
    description: 'A plan of steps a run follows (shell commands, coding-agent prompts, approval gates) with typed inputs, kept as .ocr/runbooks/<name>.yaml in a repository.',
    ...generated,
  };
  describe(schema, '');
  schema.defaultSnippets = snippets.root;

  const props = schema.properties!;
  const envs = enumDescriptions.env!;
  props.env = {
    ...props.env,
    anyOf: [{ enum: [...runbookEnvs], enumDescriptions: runbookEnvs.map((e) => envs[e] ?? '') }, { pattern: envInputPattern }],
    examples: [...runbookEnvs, '{{ inputs.env }}'],
    errorMessage: 'env is dev, staging or prod, or an input: {{ inputs.env }}',
  };

  const input = props.inputs!.items!;
  input.defaultSnippets = snippets.input;
  input.allOf = [
    { if: { properties: { type: { const: 'enum' } }, required: ['type'] }, then: { required: ['values'] }, else: { not: { required: ['values'] } } },
    { if: { properties: { type: { const: 'number' } }, required: ['type'] }, then: { properties: { default: { type: 'number' } } } },
    { if: { properties: { type: { const: 'boolean' } }, required: ['type'] }, then: { properties: { default: { type: 'boolean' } } } },
    { if: { properties: { type: { enum: ['string', 'enum'] } } }, then: { properties: { default: { type: 'string' } } } },
  ];

  const step = props.steps!.items!;
  step.defaultSnippets = snippets.step;
  step.oneOf = [{ required: ['run'] }, { required: ['agent'] }, { required: ['approval'] }];
  const stepProps = step.properties!;
  stepProps.if = { ...stepProps.if, pattern: conditionPattern, patternErrorMessage: "a condition is inputs.key, !inputs.key, inputs.key == 'value', inputs.key != 'value' or env == 'prod'" };
  const shell = stepProps.run!.anyOf![0]!;
  shell.pattern = noPlaceholderPattern;
  shell.patternErrorMessage = 'a shell command cannot hold {{ }} placeholders: use "$OCR_INPUT_<KEY>", or write run as a list (program and arguments)';
  return schema;
}

/** The file's text: the schema, two spaces deep, with a final newline. */
export function renderRunbookJsonSchema(): string {
  return `${JSON.stringify(runbookJsonSchema(), null, 2)}\n`;
}

/** Adds the description of every field (and of its enum's values) below `node`, whose path in the file is `at`. */
function describe(node: JsonSchema, at: string): void {
  const description = fieldDescriptions[at];
  if (description !== undefined) {
    node.description = description;
    node.markdownDescription = description;
  }
  const values = enumDescriptions[at];
  if (values && Array.isArray(node.enum)) node.enumDescriptions = (node.enum as string[]).map((v) => values[v] ?? '');
  for (const [key, child] of Object.entries(node.properties ?? {})) describe(child, at ? `${at}.${key}` : key);
  if (node.items && !Array.isArray(node.items)) describe(node.items, `${at}[]`);
}

/** The message the domain gives for a pattern it checks (a key, a step id, a lane name…). */
function patternMessage(schema: unknown): string | undefined {
  const checks = (schema as { _zod?: { def?: { checks?: Array<{ _zod?: { def?: { check?: string; format?: string; error?: (issue: unknown) => unknown } } }> } } })._zod?.def?.checks ?? [];
  for (const check of checks) {
    const def = check._zod?.def;
    if (def?.check !== 'string_format' || def.format !== 'regex' || typeof def.error !== 'function') continue;
    const message = def.error({});
    if (typeof message === 'string') return message;
    if (typeof (message as { message?: unknown })?.message === 'string') return (message as { message: string }).message;
  }
  return undefined;
}

/** Every property path of a schema (`inputs[].key`), for the test that each has a description. */
export function propertyPaths(node: JsonSchema, at = ''): string[] {
  const paths: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const p = at ? `${at}.${key}` : key;
    paths.push(p, ...propertyPaths(child, p));
  }
  if (node.items && !Array.isArray(node.items)) paths.push(...propertyPaths(node.items, `${at}[]`));
  return paths;
}
