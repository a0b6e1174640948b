import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { conditionHolds, InputProblem, inputVariable, renderPlaceholders, resolveInputs, stepKind } from '../../domain';
import { describeProblem, parseRunbook, readRunbooks } from './files';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ocr-runbooks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const good = `name: deploy
title: Deploy
kind: deploy
env: "{{ inputs.target }}"
inputs:
  - key: target
    type: enum
    values: [staging, prod]
    default: staging
  - key: version
    required: true
  - key: token
    secret: true
steps:
  - id: build
    run: npm run build
  - id: tag
    run: [git, tag, "v{{ inputs.version }}"]
  - id: gate
    if: "inputs.target == 'prod'"
    approval:
      message: "Deploy {{ inputs.version }} to prod?"
  - id: notes
    agent:
      prompt: "Write release notes for {{ inputs.version }}"
`;

const problemsOf = (text: string, file = path.join(dir, 'deploy.yaml')) => {
  const r = parseRunbook(text, file);
  return 'problems' in r ? r.problems.map(describeProblem) : [];
};

describe('runbook files', () => {
  it('reads a runbook: its inputs, its steps of each kind, placeholders and conditions', () => {
    const r = parseRunbook(good, path.join(dir, 'deploy.yaml'));
    if ('problems' in r) throw new Error(r.problems.map(describeProblem).join('\n'));
    expect(r.runbook.steps.map(stepKind)).toEqual(['shell', 'shell', 'approval', 'agent']);
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
    const values = resolveInputs(r.runbook, { version: '1.2.0' });
    expect(values).toEqual({ target: 'staging', version: '1.2.0' });
    expect(renderPlaceholders('v{{ inputs.version }}', values)).toBe('v1.2.0');
    expect(conditionHolds(r.runbook.steps[2]!, values, 'staging')).toBe(false);
    expect(conditionHolds(r.runbook.steps[2]!, { ...values, target: 'prod' }, 'prod')).toBe(true);
    expect(inputVariable('version')).toBe('OCR_INPUT_VERSION');
    expect(() => resolveInputs(r.runbook, {})).toThrow(new InputProblem('version', 'version is required'));
    expect(() => resolveInputs(r.runbook, { version: '1', target: 'moon' })).toThrow('inputs.target: expected one of staging, prod');
    expect(() => resolveInputs(r.runbook, { version: 1 })).toThrow('inputs.version: expected text');
    expect(() => resolveInputs(r.runbook, { version: '1', nope: 'x' })).toThrow('inputs.nope: runbook deploy has no such input');
  });

  it('refuses what is wrong before anything is queued, naming the file, line and column and the fix', () => {
    const file = path.join(dir, 'deploy.yaml');
    expect(problemsOf(good.replace('kind: deploy', 'kind: deploy\ncolour: blue'))).toEqual([`${file}:4:1: unknown field colour; remove it`]);
    expect(problemsOf(good.replace('  - id: build\n    run: npm run build\n', '  - id: build\n    title: nothing to do\n'))).toEqual([
      `${file}:15:5: steps.0: a step needs one of run, agent or approval`,
    ]);
    expect(problemsOf(good.replace('  - id: build\n    run: npm run build\n', '  - id: build\n    run: npm run build\n    agent:\n      prompt: also\n'))).toEqual([
      `${file}:15:5: steps.0: a step has one of run, agent or approval, not run and agent`,
    ]);
    expect(problemsOf(good.replace('[git, tag, "v{{ inputs.version }}"]', '[git, tag, "v{{ inputs.versoin }}"]'))).toEqual([
      `${file}:18:21: steps.1.run.2: {{ inputs.versoin }} names no input of this runbook`,
    ]);
    expect(problemsOf(good.replace('run: npm run build', 'run: npm publish --tag {{ inputs.version }}'))).toEqual([
      expect.stringMatching(/^.*:16:10: steps\.0\.run: a shell command cannot hold \{\{ \}\} placeholders: use "\$OCR_INPUT_<KEY>"/),
    ]);
    expect(problemsOf(good.replace('  - id: tag', '  - id: build'))).toEqual([`${file}:17:9: steps.1.id: the step id "build" is used twice`]);
    expect(problemsOf(good.replace('    default: staging', '    default: moon'))).toEqual([`${file}:9:14: inputs.0.default: expected one of staging, prod`]);
    expect(problemsOf(good.replace('name: deploy', 'name: other'))).toEqual([`${file}:1:7: name: "other" must be the file's name, "deploy"`]);
    expect(problemsOf('name: deploy\ntitle: [unclosed\n')[0]).toMatch(/deploy\.yaml:\d+:\d+: YAML: Flow sequence/);
    expect(problemsOf(good.replace("if: \"inputs.target == 'prod'\"", "if: \"inputs.target === 'prod'\""))[0]).toMatch(/:20:9: steps\.2\.if: a condition is/);
  });

  it("lists a repository's runbooks and the problems of those that are not", async () => {
    const repo = path.join(dir, 'repo');
    mkdirSync(path.join(repo, '.ocr', 'runbooks'), { recursive: true });
    writeFileSync(path.join(repo, '.ocr', 'runbooks', 'deploy.yaml'), good);
    writeFileSync(path.join(repo, '.ocr', 'runbooks', 'broken.yml'), 'name: broken\ntitle: Broken\nsteps: []\n');
    const set = await readRunbooks(repo);
    expect(set.runbooks.map((r) => r.runbook.name)).toEqual(['deploy']);
    expect(set.problems.map(describeProblem)).toEqual([`${path.join(repo, '.ocr', 'runbooks', 'broken.yml')}:3:8: steps: a runbook needs at least one step`]);
    expect(await readRunbooks(path.join(dir, 'no-such-repo'))).toEqual({ runbooks: [], problems: [] });
  });
});
