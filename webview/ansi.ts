// ANSI escapes in log lines become styled segments. anser parses (it yields plain data, so text is never turned into
// HTML: a log line cannot inject markup), and colors map to VS Code's terminal theme variables through classes, so
// they follow light, dark and high-contrast themes like the integrated terminal does.
import Anser from 'anser';
import { keepColorsOnly, stripControlSequences } from '../domain';

export interface Segment {
  text: string;
  /** space-separated classes, '' for unstyled text */
  className: string;
  /** exact colors of 256-color and true-color escapes, which no theme variable names */
  color?: string;
  background?: string;
}

// A newline inside one event (a multi-line system message) reads as a space; every other control sequence but the
// colors is removed by the domain's functions.
const color = /\x1b\[[0-?]*[ -/]*m/g;
const flat = (text: string): string => (text.includes('\n') ? text.replace(/\n/g, ' ') : text);
const clean = (text: string): string => flat(stripControlSequences(text));

const named = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];

function colorClass(value: string | null | undefined, kind: 'fg' | 'bg'): { className?: string; color?: string } {
  if (!value) return {};
  const palette = /^ansi-palette-(\d+)$/.exec(value);
  if (palette) {
    const n = Number(palette[1]);
    if (n < 8) return { className: `ansi-${kind}-${named[n]}` };
    if (n < 16) return { className: `ansi-${kind}-bright-${named[n - 8]}` };
    return { color: xterm256(n) };
  }
  if (value === 'ansi-truecolor') return {};
  const m = /^ansi-(bright-)?(black|red|green|yellow|blue|magenta|cyan|white)$/.exec(value);
  return m ? { className: `ansi-${kind}-${m[1] ?? ''}${m[2]}` } : {};
}

function xterm256(n: number): string {
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v}, ${v}, ${v})`;
  }
  const i = n - 16;
  const level = (c: number) => (c === 0 ? 0 : 55 + c * 40);
  return `rgb(${level(Math.floor(i / 36))}, ${level(Math.floor(i / 6) % 6)}, ${level(i % 6)})`;
}

function hasEscapes(text: string): boolean {
  return text.includes('\x1b');
}

/** The segments of one line (carriage returns already resolved). */
export function segments(text: string): Segment[] {
  if (!hasEscapes(text)) return [{ text: clean(text), className: '' }];
  const out: Segment[] = [];
  for (const entry of Anser.ansiToJson(keepColorsOnly(text), { use_classes: true, remove_empty: true })) {
    const content = clean(entry.content);
    if (!content) continue;
    const classes: string[] = [];
    const seg: Segment = { text: content, className: '' };
    // anser reports reverse video as isInverted, which its type declarations omit
    if ((entry as { isInverted?: boolean }).isInverted) classes.push('ansi-inverse');
    else {
      const fg = colorClass(entry.fg, 'fg');
      const bg = colorClass(entry.bg, 'bg');
      if (fg.className) classes.push(fg.className);
      if (bg.className) classes.push(bg.className);
      const fgTrue = entry.fg_truecolor ? `rgb(${entry.fg_truecolor})` : fg.color;
      const bgTrue = entry.bg_truecolor ? `rgb(${entry.bg_truecolor})` : bg.color;
      if (fgTrue) seg.color = fgTrue;
      if (bgTrue) seg.background = bgTrue;
    }
    for (const d of entry.decorations ?? []) if (d !== 'reverse' && d !== 'blink') classes.push(`ansi-${d}`);
    seg.className = classes.join(' ');
    out.push(seg);
  }
  return out;
}

/**
 * The line as plain text: what search looks in, and what the segments spell. Called for every line that arrives, so
 * it strips with regular expressions instead of parsing (the segments of the few rows in view are parsed when drawn).
 */
export function plainText(text: string): string {
  if (!hasEscapes(text)) return clean(text);
  return clean(keepColorsOnly(text).replace(color, ''));
}
