// Text that came from a run or from the database, made safe to show: terminal control sequences (colors, cursor
// moves, titles, hyperlinks, clipboard writes) and control characters removed, carriage returns resolved the way a
// terminal leaves the line. The Runboard keeps colors (it draws them); everything else shows plain text.
// And the two things no text can hold on its way into the database: a NUL, half a surrogate pair.

/** OSC sequences: window titles, hyperlinks, clipboard writes (OSC 0/8/52), ended by BEL or ST, or cut off. */
const osc = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?/g;
/** Character set designations, other two-byte escapes, a lone escape, and an escape cut off at the end. */
const otherEscapes = /\x1b[()*+][0-9A-Za-z]|\x1b[@-Z\\-_]|\x1b\[[0-?]*[ -/]*$|\x1b$/g;
/** CSI sequences other than colors (cursor moves, erases): nothing a line of a log can act on. */
const csiNotColor = /\x1b\[[0-?]*[ -/]*[@-ln-~]/g;
/** CSI color sequences (SGR). */
const csiColor = /\x1b\[[0-?]*[ -/]*m/g;
/** C1 controls as single code points (U+0080–U+009F): CSI and OSC in their 8-bit form, among others. */
const c1 = /[\u0080-\u009f]/g;
/** Control characters draw nothing; tab and newline are kept. */
const controls = /[\x00-\x08\x0b-\x1f\x7f]/g;
const anyControl = /[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]/;

/** The text a terminal would leave on the line: what follows the last carriage return that is followed by anything. */
export function lastCarriageReturn(text: string): string {
  if (!text.includes('\r')) return text;
  const parts = text.split('\r');
  for (let i = parts.length - 1; i >= 0; i--) if (parts[i]) return parts[i]!;
  return '';
}

/** Only the color sequences of `text` stay; every other escape is removed. */
export function keepColorsOnly(text: string): string {
  if (!text.includes('\x1b')) return text;
  return text.replace(osc, '').replace(otherEscapes, '').replace(csiNotColor, '');
}

/** `text` without any escape sequence or control character (tabs and newlines stay). */
export function stripControlSequences(text: string): string {
  const noEscapes = text.includes('\x1b') ? keepColorsOnly(text).replace(csiColor, '') : text;
  return anyControl.test(noEscapes) ? noEscapes.replace(controls, '').replace(c1, '') : noEscapes;
}

/** A line of output as a terminal would show it without colors: carriage returns resolved, controls removed. */
export function plainLine(text: string): string {
  return stripControlSequences(lastCarriageReturn(text));
}

/** Text from the database for one line of a terminal or a list: plain, with line breaks and tabs as spaces. */
export function plainOneLine(text: string): string {
  return stripControlSequences(text).replace(/[\t\n]/g, ' ');
}

/** Half of a UTF-16 surrogate pair, alone: not a character, and not something UTF-8 (or the database) can hold. */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why `text` cannot be kept as it is in a PostgreSQL text or JSON column, or undefined when it can: a NUL character
 * (U+0000) or half of a surrogate pair. Everything else (escapes, emoji, right-to-left marks) is stored as it is and
 * stripped only when shown.
 */
export function unstorableText(text: string): string | undefined {
  if (text.includes('\u0000')) return 'a NUL character (\\0) cannot be stored; remove it';
  if (loneSurrogate.test(text)) return 'half of a UTF-16 surrogate pair is not text; send well-formed Unicode';
  return undefined;
}

/** The same for every string (keys too) in a JSON value, with the path to the first one that cannot be stored. */
export function unstorableJson(value: unknown, path: string[] = []): { path: string[]; reason: string } | undefined {
  if (typeof value === 'string') {
    const reason = unstorableText(value);
    return reason ? { path, reason } : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const inKey = unstorableText(key);
    if (inKey) return { path: [...path, key], reason: `its name: ${inKey}` };
    const inItem = unstorableJson(item, [...path, key]);
    if (inItem) return inItem;
  }
  return undefined;
}

/**
 * JSON for a terminal: JSON.stringify leaves the C1 control characters (U+0080–U+009F) as they are, and a terminal
 * may read them as escapes; here they are written as \u escapes too, so the text means the same and cannot act.
 */
export function jsonForTerminal(value: unknown, indent?: number): string {
  const json = JSON.stringify(value, null, indent);
  return json.replace(/[\u0080-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
