import { describe, expect, it } from 'vitest';
import { plainText, segments } from './ansi';

describe('ANSI', () => {
  it('maps colors to theme classes and exact colors to styles', () => {
    expect(segments('\x1b[1;32mok\x1b[0m done')).toEqual([
      { text: 'ok', className: 'ansi-fg-green ansi-bold' },
      { text: ' done', className: '' },
    ]);
    expect(segments('\x1b[38;5;9mA\x1b[38;5;208mB\x1b[48;2;1;2;3mC')).toEqual([
      { text: 'A', className: 'ansi-fg-bright-red' },
      { text: 'B', className: '', color: 'rgb(255, 135, 0)' },
      { text: 'C', className: '', color: 'rgb(255, 135, 0)', background: 'rgb(1, 2, 3)' },
    ]);
    expect(plainText('tab\there\u0007')).toBe('tab\there');
  });
});
