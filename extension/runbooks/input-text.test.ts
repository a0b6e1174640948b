// What the editor makes of text typed for a runbook input, the choices it offers, and how it names inputs and values.
import { describe, expect, it } from 'vitest';
import { RunbookInput, resolveInputs } from '../../domain';
import { describeInput, describeValues, initialText, inputChoices, inputTextProblem, inputTextValue, noValue } from './input-text';

const input = (fields: Record<string, unknown>) => RunbookInput.parse(fields);

describe('text typed for an input', () => {
  it('is read as the input\'s type, with the domain\'s own problems, named after the input', () => {
    const count = input({ key: 'count', label: 'How many', type: 'number', required: true });
    expect(inputTextProblem(count, '3')).toBeUndefined();
    expect(inputTextValue(count, ' 3 ')).toBe(3);
    expect(inputTextProblem(count, 'three')).toBe('How many: expected a number');
    expect(inputTextProblem(count, '')).toBe('How many is required');
    expect(inputTextProblem(count, '   ')).toBe('How many is required');
    const name = input({ key: 'name' });
    expect(inputTextProblem(name, 'anything at all')).toBeUndefined();
    expect(inputTextValue(name, 'anything at all')).toBe('anything at all');
  });

  it('left empty is "none" for an optional input: the run gets no value, not the default', () => {
    const folder = input({ key: 'folder', default: 'migrations' });
    expect(initialText(folder)).toBe('migrations');
    expect(inputTextProblem(folder, '')).toBeUndefined();
    expect(inputTextValue(folder, '')).toBe(noValue);
    expect(resolveInputs({ name: 'r', inputs: [folder] }, { folder: inputTextValue(folder, '') })).toEqual({});
    expect(resolveInputs({ name: 'r', inputs: [folder] }, {})).toEqual({ folder: 'migrations' });
  });

  it('for a required input with a default starts with the default and refuses empty', () => {
    const timeout = input({ key: 'timeout', type: 'number', default: 10, required: true });
    expect(initialText(timeout)).toBe('10');
    expect(inputTextProblem(timeout, '')).toBe('timeout is required');
  });
});

describe('the choices of a boolean or enum input', () => {
  it('put the default first and mark it', () => {
    const env = input({ key: 'env', type: 'enum', values: ['dev', 'staging', 'prod'], default: 'staging' });
    expect(inputChoices(env)).toEqual([
      { label: 'staging', value: 'staging', description: 'default' },
      { label: 'dev', value: 'dev' },
      { label: 'prod', value: 'prod' },
    ]);
    expect(inputChoices(input({ key: 'dry', type: 'boolean', default: false })).map((c) => c.value)).toEqual([false, true]);
  });

  it('offer "none" only to an optional input without a default', () => {
    expect(inputChoices(input({ key: 'dry', type: 'boolean' })).map((c) => c.label)).toEqual(['true', 'false', 'none']);
    expect(inputChoices(input({ key: 'dry', type: 'boolean', required: true })).map((c) => c.label)).toEqual(['true', 'false']);
    expect(inputChoices(input({ key: 'env', type: 'enum', values: ['a'] })).at(-1)).toEqual({ label: 'none', description: 'leave it unset', value: noValue });
  });
});

describe('inputs and values in words', () => {
  it('describe an input by type, required, secret and default, a secret default masked', () => {
    expect(describeInput(input({ key: 'env', type: 'enum', values: ['dev', 'prod'], default: 'dev', required: true }))).toBe('enum: dev, prod · required · default dev');
    expect(describeInput(input({ key: 'token', secret: true, default: 'hunter2' }))).toBe('string · secret · default ***');
    expect(describeInput(input({ key: 'n', type: 'number' }))).toBe('number');
  });

  it('list the values a run is queued with, in the inputs\' order, secrets masked, defaults and none shown', () => {
    const runbook = { inputs: [input({ key: 'version' }), input({ key: 'token', secret: true }), input({ key: 'env', default: 'dev' }), input({ key: 'note' })] };
    expect(describeValues(runbook, { token: 's3cr3t', version: '1.2.3', note: noValue })).toBe('version=1.2.3, token=***, env=dev, note=(none)');
    expect(describeValues({ inputs: [] }, {})).toBe('none');
  });
});
