import { describe, expect, it } from 'vitest';
import { jsonForTerminal, keepColorsOnly, lastCarriageReturn, plainLine, plainOneLine, stripControlSequences, unstorableJson, unstorableText } from './text';

describe('text from runs and the database, made safe to show', () => {
  it('removes colors, cursor moves, titles, hyperlinks and clipboard writes', () => {
    expect(stripControlSequences('\x1b[1;31mred\x1b[0m\x1b[2K\x1b[?25l')).toBe('red');
    expect(stripControlSequences('\x1b]0;pwned title\x07done')).toBe('done');
    expect(stripControlSequences('\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\')).toBe('link');
    expect(stripControlSequences('\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07copied')).toBe('copied');
    expect(stripControlSequences('\u009b31mC1 CSI\u009d0;title\u009c')).toBe('31mC1 CSI0;title');
    expect(stripControlSequences('bell\x07 and backspace\x08 and a cut-off escape \x1b[3')).toBe('bell and backspace and a cut-off escape ');
  });

  it('leaves plain text, tabs and newlines alone', () => {
    expect(stripControlSequences('plain [1m text')).toBe('plain [1m text');
    expect(stripControlSequences('a\tb\nc')).toBe('a\tb\nc');
    expect(plainOneLine('a\tb\nc\x1b[31m!')).toBe('a b c!');
  });

  it('keeps only colors for the Runboard, which draws them', () => {
    expect(keepColorsOnly('\x1b[31mred\x1b[0m\x1b[2K\x1b]0;t\x07')).toBe('\x1b[31mred\x1b[0m');
  });

  it('resolves carriage returns as a terminal leaves the line', () => {
    expect(lastCarriageReturn('10%\r50%\r100%')).toBe('100%');
    expect(lastCarriageReturn('done\r')).toBe('done');
    expect(plainLine('\x1b[32m 10%\r\x1b[32m100%\x1b[0m')).toBe('100%');
  });

  it('names what the database cannot hold: a NUL, half a surrogate pair; escapes, emoji and marks are stored as they are', () => {
    expect(unstorableText('a\u0000b')).toMatch(/NUL/);
    expect(unstorableText('lone \ud800 high')).toMatch(/surrogate/);
    expect(unstorableText('lone \udc00 low')).toMatch(/surrogate/);
    expect(unstorableText('\udc00\ud800')).toMatch(/surrogate/);
    for (const fine of ['', 'plain', '\x1b]0;title\x07', '🚀 e\u0301 \u202eevil', '\ud83d\ude80', "'); drop table x; --"]) {
      expect(unstorableText(fine), JSON.stringify(fine)).toBeUndefined();
    }
    expect(unstorableJson({ a: [1, 'ok', { b: 'x\u0000' }] })).toEqual({ path: ['a', '2', 'b'], reason: expect.stringMatching(/NUL/) });
    expect(unstorableJson({ ['k\ud800']: 1 })).toEqual({ path: ['k\ud800'], reason: expect.stringMatching(/^its name: .*surrogate/) });
    expect(unstorableJson({ a: [null, 1, true, 'fine'] })).toBeUndefined();
  });
});

describe('JSON for a terminal', () => {
  it('escapes the C1 controls JSON.stringify leaves raw, and means the same', () => {
    const value = { title: 'a\u009b31mb', plain: 'é ü' };
    const json = jsonForTerminal(value);
    expect(/[\u0080-\u009f]/.test(json)).toBe(false);
    expect(JSON.parse(json)).toEqual(value);
  });
});
