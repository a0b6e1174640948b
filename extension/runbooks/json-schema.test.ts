// The published JSON Schema of runbook files: up to date with the domain, every field described, and the refinements it
// expresses in agreement with the domain's own checks.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Runbook, runbookKinds } from '../../domain';
import { fieldDescriptions, propertyPaths, renderRunbookJsonSchema, runbookJsonSchema, runbookSchemaFile } from './json-schema';

const root = path.resolve(__dirname, '..', '..');
const schema = runbookJsonSchema();
type Node = Record<string, unknown> & { properties?: Record<string, Node>; items?: Node; anyOf?: Node[] };
const at = (...keys: string[]): Node => keys.reduce<Node>((node, key) => (key === '[]' ? node.items! : node.properties![key]!), schema as Node);

/** The domain's verdict on one field of an otherwise good runbook: the messages of the issues at `field`. */
function domainIssues(runbook: Record<string, unknown>, field: PropertyKey[]): string[] {
  const parsed = Runbook.safeParse({ name: 'r', title: 'R', inputs: [{ key: 'a' }, { key: 'env', type: 'enum', values: ['dev', 'prod'] }], steps: [{ id: 's', run: 'true' }], ...runbook });
  return parsed.success ? [] : parsed.error.issues.filter((i) => JSON.stringify(i.path) === JSON.stringify(field)).map((i) => i.message);
}

describe('the runbook JSON Schema', () => {
  it(`is what ${runbookSchemaFile} holds (npm run schema:runbook writes it)`, () => {
    expect(readFileSync(path.join(root, runbookSchemaFile), 'utf8'), 'the committed schema is out of date: run `npm run schema:runbook`').toBe(renderRunbookJsonSchema());
  });

  it('is draft-07 and describes every field, every enum value and every pattern', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    const paths = propertyPaths(schema);
    expect(paths).toContain('steps[].approval.message');
    for (const p of paths) expect(fieldDescriptions[p], `a description of ${p}`).toBeTruthy();
    expect(Object.keys(fieldDescriptions).filter((p) => !paths.includes(p) && !p.endsWith('[]')), 'descriptions of fields the schema has not').toEqual([]);
    expect(at('kind').enum).toEqual([...runbookKinds]);
    expect((at('kind').enumDescriptions as string[]).every(Boolean)).toBe(true);
    expect(at('inputs', '[]', 'type').enumDescriptions).toHaveLength(4);
    // the domain's own words when a pattern does not match
    expect(at('inputs', '[]', 'key').patternErrorMessage).toMatch(/^a key is a lowercase letter/);
    expect(at('steps', '[]', 'id').patternErrorMessage).toMatch(/^a step id is/);
    expect(at('lane').patternErrorMessage).toMatch(/^a lane name is/);
  });

  it('requires what the domain requires, and leaves out of `required` what has a default', () => {
    expect(schema.required).toEqual(['name', 'title', 'steps']);
    expect(at('inputs', '[]').required).toEqual(['key']);
    expect(at('steps', '[]').required).toEqual(['id']);
    expect(at('steps', '[]').oneOf).toEqual([{ required: ['run'] }, { required: ['agent'] }, { required: ['approval'] }]);
    expect(schema.additionalProperties).toBe(false);
    expect(at('steps', '[]').additionalProperties).toBe(false);
    expect(at('kind').default).toBe('custom');
  });

  it('offers snippets for a runbook, a step and an input', () => {
    expect((schema.defaultSnippets as unknown[]).length).toBeGreaterThan(0);
    expect((at('steps', '[]').defaultSnippets as Array<{ label: string }>).map((s) => s.label)).toEqual(['shell step', 'program step', 'agent step', 'approval step']);
    expect((at('inputs', '[]').defaultSnippets as unknown[]).length).toBe(3);
  });

  it("agrees with the domain on `if:` conditions", () => {
    const pattern = new RegExp(at('steps', '[]', 'if').pattern as string);
    const conditions = ['inputs.a', '!inputs.a', "inputs.a == 'x'", "inputs.a != ''", "env == 'prod'", " env != 'dev' ", '! inputs.a', "inputs.a=='x'", 'env', 'inputs.A', 'input.a', "inputs.a == x", "inputs.a = 'x'", "inputs.a == 'x' && env", 'true', "env == \"prod\""];
    for (const condition of conditions) {
      const domainAccepts = domainIssues({ steps: [{ id: 's', run: 'true', if: condition }] }, ['steps', 0, 'if']).length === 0;
      expect(pattern.test(condition), `the schema on if: ${condition}`).toBe(domainAccepts);
    }
  });

  it('agrees with the domain on env', () => {
    const [envs, placeholder] = at('env').anyOf!;
    for (const env of ['dev', 'staging', 'prod', '{{ inputs.env }}', '{{inputs.a}}', 'production', 'Prod', '{{ env }}', 'prod {{ inputs.env }}', '']) {
      const schemaAccepts = (envs!.enum as string[]).includes(env) || new RegExp(placeholder!.pattern as string).test(env);
      const issues = domainIssues({ env }, ['env']);
      // a placeholder naming no input is for the editor's diagnostics, not the schema
      const domainAccepts = issues.every((m) => m.includes('names no input'));
      expect(schemaAccepts, `the schema on env: ${JSON.stringify(env)}`).toBe(domainAccepts);
    }
  });

  it('refuses placeholders in a shell command, as the domain does', () => {
    const shell = at('steps', '[]', 'run').anyOf![0]!;
    const pattern = new RegExp(shell.pattern as string);
    for (const run of ['echo "$OCR_INPUT_A"', 'echo {{ inputs.a }}', "docker ps --format '{{ .Names }}'", 'a\n{{inputs.a}}']) {
      const domainAccepts = domainIssues({ steps: [{ id: 's', run }] }, ['steps', 0, 'run']).length === 0;
      expect(pattern.test(run), `the schema on run: ${run}`).toBe(domainAccepts);
    }
  });

  it("asks an enum input for its values, refuses them on any other, and a default of the input's type", () => {
    const rules = at('inputs', '[]').allOf as Array<{ if: Node; then: Node; else?: Node }>;
    expect(rules[0]).toEqual({ if: { properties: { type: { const: 'enum' } }, required: ['type'] }, then: { required: ['values'] }, else: { not: { required: ['values'] } } });
    expect(rules.slice(1).map((r) => (r.then.properties!.default as Node).type)).toEqual(['number', 'boolean', 'string']);
  });
});
