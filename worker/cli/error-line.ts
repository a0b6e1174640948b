// The one line `ocr` prints when it cannot do what it was asked: `ocr: <the problem> (<what to do>)`. Usage errors
// (commander's) say which flag, in the same shape as the commands' own errors; anything else gives its message, never a
// stack trace (OCR_DEBUG=1 adds it). What the line quotes (a flag the user typed, a message from the database) is shown
// as text: no escapes reach the terminal.
import { type Command, CommanderError } from 'commander';
import { plainOneLine } from '../../domain';
import { OcrError } from '../store/errors';

export interface Failure {
  /** the line to print after `ocr: ` */
  line: string;
  /** 2 for a usage error, 1 for anything else */
  exitCode: 1 | 2;
  /** for OCR_DEBUG: where an unexpected error came from */
  stack?: string;
}

/** The line and exit code for an error thrown while `program` ran with `args` (the arguments after `ocr`). */
export function failure(e: unknown, program: Command, args: readonly string[]): Failure {
  if (e instanceof CommanderError) return { line: plainOneLine(usageLine(e, program, args)), exitCode: 2 };
  if (e instanceof OcrError) return { line: plainOneLine(e.line), exitCode: 1 };
  const message = e instanceof Error ? e.message : String(e);
  return { line: plainOneLine(message || String(e)), exitCode: 1, stack: e instanceof Error ? e.stack : undefined };
}

/** commander's message, reworded to name the flag first and to say where the usage is. */
function usageLine(e: CommanderError, program: Command, args: readonly string[]): string {
  const path = commandPath(program, args);
  const help = `run \`${['ocr', ...path, '--help'].join(' ')}\` for usage`;
  const message = e.message.replace(/^error: /, '');
  const [first = '', ...rest] = message.split('\n');
  // commander's "(Did you mean --session?)" comes on a line of its own
  const suggestion = rest.join(' ').trim().replace(/^\((.*)\)$/, '$1');
  const guess = suggestion ? `; ${lowerFirst(suggestion)}` : '';
  let m: RegExpExecArray | null;
  switch (e.code) {
    case 'commander.invalidArgument':
      if ((m = /^option '(\S+)[^']*' argument '([\s\S]*)' is invalid\. ([\s\S]*)$/.exec(first))) {
        const [, flag, value, reason] = m as unknown as [string, string, string, string];
        // the option parsers of options.ts name the flag and its value themselves
        if (reason.startsWith(flag)) return reason;
        return `${flag} ${JSON.stringify(value)}: ${lowerFirst(reason).replace(/\.$/, '')}`;
      }
      if ((m = /^command-argument value '([\s\S]*)' is invalid for argument '(\S+)'\. ([\s\S]*)$/.exec(first))) {
        const [, value, name, reason] = m as unknown as [string, string, string, string];
        return `<${name}> ${JSON.stringify(value)}: ${lowerFirst(reason).replace(/\.$/, '')}`;
      }
      break;
    case 'commander.optionMissingArgument':
      if ((m = /^option '((\S+)[^']*)' argument missing$/.exec(first))) return `${m[2]}: needs a value (give ${m[1]}; ${help})`;
      break;
    case 'commander.missingMandatoryOptionValue':
      if ((m = /^required option '((\S+)[^']*)' not specified$/.exec(first))) return `${m[2]}: required (give ${m[1]}; ${help})`;
      break;
    case 'commander.unknownOption':
      if ((m = /^unknown option '([\s\S]*)'$/.exec(first))) return `${m[1]}: not an option of \`${['ocr', ...path].join(' ')}\`${guess} (${help})`;
      break;
    case 'commander.missingArgument':
      if ((m = /^missing required argument '(\S+)'$/.exec(first))) return `<${m[1]}>: required (${help})`;
      break;
  }
  return `${first.replace(/\. Expected /, ': expected ').replace(/\.$/, '')}${guess} (${help})`;
}

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

/** The subcommands named in `args`, such as ['session', 'new']: options and their values are skipped. */
export function commandPath(program: Command, args: readonly string[]): string[] {
  const path: string[] = [];
  let command = program;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      const option = [...command.options, ...program.options].find((o) => o.long === arg || o.short === arg);
      if (option && (option.required || option.optional)) i++;
      continue;
    }
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) break;
    path.push(sub.name());
    command = sub;
  }
  return path;
}
