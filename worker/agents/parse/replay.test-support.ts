// Test support: a recorded stream replayed through a parser the way the worker feeds it, one line at a time.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type AgentCli, type AgentStep, type SummarizeOptions, summarizeAgent } from '../../../domain';
import { type AgentParserOptions, createAgentParser } from './index';

export const streamsDir = path.join(__dirname, '..', 'fixtures', 'streams');

/** The stream's lines as the worker cuts them: a last line without a newline is kept, an empty tail is not. */
export function streamLines(file: string): string[] {
  const text = readFileSync(path.join(streamsDir, file), 'utf8');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

export interface Replay {
  /** the steps of each line, in order (an empty list for a line the parser did not recognise) */
  perLine: AgentStep[][];
  steps: AgentStep[];
  lines: string[];
}

export function replay(cli: AgentCli, file: string, options: AgentParserOptions = {}): Replay {
  const parser = createAgentParser(cli, options);
  const lines = streamLines(file);
  const perLine = lines.map((line) => parser.line(line));
  const steps = [...perLine.flat(), ...parser.end()];
  return { perLine, steps, lines };
}

export function replaySummary(cli: AgentCli, file: string, options: AgentParserOptions & SummarizeOptions = {}) {
  const replayed = replay(cli, file, options);
  return { ...replayed, summary: summarizeAgent(cli, replayed.steps, options) };
}

export const kinds = (steps: readonly AgentStep[]): string[] => steps.map((s) => s.kind);
