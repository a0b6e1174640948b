// What every agent stream parser shares: a line in, steps out, never a throw. A line the parser does not recognise
// gives no steps and stays a plain log line (the caller keeps every line's text as it came).
import { type AgentStep, AgentStep as AgentStepSchema, stepText } from '../../../domain';

export interface AgentParser {
  /**
   * The steps of one line of the agent's stdout. `continued` says the line is the next piece of the previous one (the
   * worker cuts lines longer than its limit into pieces): an event longer than the limit is recognised once its last
   * piece arrives, and its steps come with that piece.
   */
  line(text: string, continued?: boolean): AgentStep[];
  /** The steps still held when the stream ends (a message whose end no line marked). */
  end(): AgentStep[];
}

export interface AgentParserOptions {
  /** the run's working directory: file paths under it are shown relative to it, as in the lane's diff */
  cwd?: string;
  /** the model the profile asked for, for streams that do not name theirs (codex) */
  model?: string;
}

/** What a JSON-lines parser does with each event: its steps, or none. It may throw; the caller catches. */
export interface EventHandler {
  event(value: unknown): AgentStep[];
  end?(): AgentStep[];
}

/** Events above this size are not parsed (the raw line is kept): 16 MB of JSON is no one's conversation step. */
const maxEventChars = 16 * 1024 * 1024;

/** Only steps that match the schema leave a parser: a CLI's odd shape never becomes a bad row. */
export function validSteps(steps: readonly AgentStep[]): AgentStep[] {
  return steps.filter((step) => AgentStepSchema.safeParse(step).success);
}

function parseObject(text: string): unknown {
  // A JSON event is one object on one line; a piece cut off before its end cannot end with `}`, so there is no
  // point in running the parser over it (which would cost a full scan per piece of a long event).
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return undefined;
  }
}

/** A parser for a stream of JSON lines (claude, codex, gemini), given what to do with each event. */
export function jsonLinesParser(handler: EventHandler): AgentParser {
  // The start of an event that did not parse: the next piece of the same line may complete it.
  let held: string | undefined;
  const run = (f: () => AgentStep[]): AgentStep[] => {
    try {
      return validSteps(f());
    } catch {
      return [];
    }
  };
  return {
    line(text, continued = false) {
      return run(() => {
        let candidate: string;
        if (continued) {
          if (held === undefined) return [];
          candidate = held + text;
        } else {
          candidate = text;
        }
        held = undefined;
        if (candidate.length > maxEventChars) return [];
        const value = parseObject(candidate);
        if (value === undefined) {
          if (candidate.trimStart().startsWith('{')) held = candidate;
          return [];
        }
        return handler.event(value);
      });
    },
    end() {
      held = undefined;
      return run(() => handler.end?.() ?? []);
    },
  };
}

/** `path` relative to `cwd` when it lies under it; as it is otherwise. */
export function relativePath(path: string, cwd: string | undefined): string {
  if (!cwd) return path;
  const base = cwd.endsWith('/') ? cwd : `${cwd}/`;
  return path.startsWith(base) ? path.slice(base.length) : path;
}

const summaryKeys = ['command', 'cmd', 'file_path', 'notebook_path', 'absolute_path', 'path', 'dir_path', 'pattern', 'url', 'query', 'description', 'prompt'];

/** One line for a tool call from its input: the command, the file, the pattern — whichever the tool has first. */
export function inputSummary(input: unknown, cwd: string | undefined): string {
  if (typeof input !== 'object' || input === null) return '';
  const record = input as Record<string, unknown>;
  for (const key of summaryKeys) {
    const value = record[key];
    const text = typeof value === 'string' ? value : Array.isArray(value) && value.every((v) => typeof v === 'string') ? value.join(' ') : undefined;
    if (text?.trim()) return oneLine(key.includes('path') ? relativePath(text, cwd) : text);
  }
  return '';
}

export function oneLine(text: string, max = 200): string {
  const line = stepText(text.replace(/\s+/g, ' ').trim()).text;
  if (line.length <= max) return line;
  const cut = /[\ud800-\udbff]/.test(line[max - 2] ?? '') ? max - 2 : max - 1;
  return `${line.slice(0, cut)}…`;
}
