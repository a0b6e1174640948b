// What the editor says about a runbook's inputs and makes of what a person types for them, without VS Code: the text
// of an input box read as the input's type, the choices of a boolean or enum input, an input described in a word or
// three, and the values of a run with its secrets masked.
import { type InputValue, readInputValue, type Runbook, type RunbookInput } from '../../domain';

/** What a run is given for an input left empty: nothing (an empty value is "none", even where a default exists). */
export const noValue = '';

/** The name a person sees: the label, else the key. */
export const inputName = (input: Pick<RunbookInput, 'key' | 'label'>): string => input.label ?? input.key;

/** Why `text`, typed for `input`, will not do; undefined when it will. Empty text is "none", which a required input refuses. */
export function inputTextProblem(input: RunbookInput, text: string): string | undefined {
  if (text.trim() === '') return input.required ? `${inputName(input)} is required` : undefined;
  const read = readInputValue(input, text);
  return 'problem' in read ? `${inputName(input)}: ${read.problem}` : undefined;
}

/** The value typed text stands for (checked with inputTextProblem first); empty text is "none". */
export function inputTextValue(input: RunbookInput, text: string): InputValue {
  if (text.trim() === '') return noValue;
  const read = readInputValue(input, text);
  if ('problem' in read) throw new Error(`inputs.${input.key}: ${read.problem}`);
  return read.value;
}

/** The text an input box starts with: the default, when there is one. */
export const initialText = (input: RunbookInput): string => (input.default === undefined ? '' : String(input.default));

export interface InputChoice {
  label: string;
  description?: string;
  value: InputValue;
}

/** The choices of a boolean or enum input: the default first, and "none" for an optional input without a default. */
export function inputChoices(input: RunbookInput): InputChoice[] {
  const values: InputValue[] = input.type === 'boolean' ? [true, false] : [...(input.values ?? [])];
  const ordered = input.default === undefined ? values : [input.default, ...values.filter((v) => v !== input.default)];
  const choices: InputChoice[] = ordered.map((value) => ({ label: String(value), value, ...(value === input.default ? { description: 'default' } : {}) }));
  if (!input.required && input.default === undefined) choices.push({ label: 'none', description: 'leave it unset', value: noValue });
  return choices;
}

/** "enum: staging, prod · required · default staging", "string · secret": an input in a few words. */
export function describeInput(input: RunbookInput): string {
  const type = input.type === 'enum' ? `enum: ${(input.values ?? []).join(', ')}` : input.type;
  const parts = [type, input.required ? 'required' : '', input.secret ? 'secret' : ''];
  if (input.default !== undefined) parts.push(`default ${input.secret ? '***' : String(input.default)}`);
  return parts.filter(Boolean).join(' · ');
}

/** "version=1.2.3, token=***, notify=(none)": the values a run is queued with, secrets masked, in the inputs' order. */
export function describeValues(runbook: Pick<Runbook, 'inputs'>, values: Record<string, unknown>): string {
  const parts = runbook.inputs.map((input) => {
    const value = Object.hasOwn(values, input.key) ? values[input.key] : input.default;
    const shown = value === undefined || value === noValue ? '(none)' : input.secret ? '***' : String(value);
    return `${input.key}=${shown}`;
  });
  return parts.length > 0 ? parts.join(', ') : 'none';
}

