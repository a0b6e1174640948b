import { describe, expect, it } from 'vitest';
import { AgentCli, AgentStep, maxToolOutputChars, unstorableJson } from '../../../domain';
import { createAgentParser } from './index';
import { streamLines } from './replay.test-support';

const clis = AgentCli.options;
const fixtures = { claude: 'claude-edit.jsonl', codex: 'codex-edit.jsonl', gemini: 'gemini-edit.jsonl', aider: 'aider-edit.txt' } as const;

const notSteps = [
  '',
  'hello',
  'npm WARN deprecated glob@7.2.3',
  '{"type":"result","subtype":"success"',
  '{"type":',
  '{}',
  '[]',
  'null',
  '42',
  '"text"',
  '{"type":"no_such_event","x":1}',
  '{"type":"assistant","message":null}',
  '{"type":"assistant","message":{"content":"not blocks"}}',
  '{"type":"user","message":{"content":[{"type":"tool_result"}]}}',
  '{"type":"item.completed","item":{"id":5,"type":"agent_message"}}',
  '{"type":"item.completed","item":{"id":"i","type":"mystery"}}',
  '{"type":"thread.started","thread_id":7}',
  '{"type":"tool_use","tool_name":null}',
  '{"type":"init","session_id":{"nested":true}}',
  '{"type":"message","role":"system","content":"?"}',
  '\ufffd\ufffd\ufffd{"type":"init"}',
  '\x1b[31m{"type":"result"}\x1b[0m trailing',
];

describe('agent stream parsers on bad input', () => {
  it.each(clis)('%s: a line that is not one of its events gives no steps and never throws', (cli) => {
    const parser = createAgentParser(cli);
    for (const line of notSteps) expect(parser.line(line), line).toEqual([]);
    expect(parser.end()).toEqual([]);
  });

  it.each(clis)('%s: a 5 MB line that is not an event gives no steps, quickly', (cli) => {
    const parser = createAgentParser(cli);
    const huge = `{"type":"assistant","message":{"content":[{"type":"text","text":"${'x'.repeat(5 * 1024 * 1024)}`;
    const started = performance.now();
    expect(parser.line(huge)).toEqual([]);
    expect(parser.line('y'.repeat(5 * 1024 * 1024))).toEqual([]);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it.each(clis)('%s: every cut of every line of a recorded stream is survived, and what comes out is valid', (cli) => {
    const parser = createAgentParser(cli);
    for (const line of streamLines(fixtures[cli])) {
      for (const cut of [1, 7, Math.floor(line.length / 2), line.length - 1]) {
        for (const steps of [parser.line(line.slice(0, cut)), parser.line(line.slice(cut), true)]) {
          for (const step of steps) expect(AgentStep.safeParse(step).success).toBe(true);
        }
      }
    }
    expect(() => parser.end()).not.toThrow();
  });

  it('recognises an event the worker cut into pieces, with its last piece', () => {
    const parser = createAgentParser('claude');
    const line = '{"type":"assistant","message":{"content":[{"type":"text","text":"a long answer"}]}}';
    expect(parser.line(line.slice(0, 20))).toEqual([]);
    expect(parser.line(line.slice(20, 50), true)).toEqual([]);
    expect(parser.line(line.slice(50), true)).toEqual([{ kind: 'message', role: 'assistant', text: 'a long answer' }]);
    // a piece with nothing before it to continue is a plain line
    expect(parser.line(line.slice(50), true)).toEqual([]);
  });

  it('keeps 8 KB of a 5 MB tool output and says it cut the rest', () => {
    const parser = createAgentParser('claude');
    const output = 'line of test output\n'.repeat(260_000);
    const steps = parser.line(JSON.stringify({ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 't', content: output }] } }));
    expect(steps).toHaveLength(1);
    const [result] = steps as [Extract<AgentStep, { kind: 'tool_result' }>];
    expect(result.truncated).toBe(true);
    expect(result.output.startsWith('line of test output\n')).toBe(true);
    expect(result.output.length).toBeLessThan(maxToolOutputChars + 100);
    expect(result.output).toMatch(/… \(\d+ more characters not kept\)$/);
  });

  it('keeps a tool call’s input small: long strings cut at 2 KB', () => {
    const parser = createAgentParser('claude');
    const content = 'z'.repeat(100_000);
    const [call] = parser.line(JSON.stringify({ type: 'assistant', message: { content: [{ type: 'tool_use', id: 't', name: 'Write', input: { file_path: 'a.txt', content } }] } }));
    expect(call).toMatchObject({ kind: 'tool_call', summary: 'a.txt' });
    const kept = (call as { input: { content: string } }).input.content;
    expect(kept.length).toBeLessThan(2048 + 100);
  });

  it('never gives the database text it cannot store: NULs and halves of surrogate pairs are replaced, replacement characters kept', () => {
    const parser = createAgentParser('codex');
    const steps = [
      ...parser.line('{"type":"item.completed","item":{"id":"1","type":"agent_message","text":"nul \\u0000 lone \\ud800 end \ufffd"}}'),
      ...parser.line('{"type":"item.completed","item":{"id":"2","type":"command_execution","command":"cat bin","aggregated_output":"\\u0000\\udfff","exit_code":0,"status":"completed"}}'),
    ];
    expect(steps[0]).toEqual({ kind: 'message', role: 'assistant', text: 'nul \ufffd lone \ufffd end \ufffd' });
    expect(unstorableJson(steps)).toBeUndefined();
  });

  it('does not cut a character in two when it shortens output', () => {
    const parser = createAgentParser('gemini');
    parser.line('{"type":"tool_use","tool_name":"read_file","tool_id":"r","parameters":{}}');
    const emoji = '😀'.repeat(maxToolOutputChars);
    const steps = parser.line(JSON.stringify({ type: 'tool_result', tool_id: 'r', status: 'success', output: `a${emoji}` }));
    expect(unstorableJson(steps)).toBeUndefined();
  });
});
