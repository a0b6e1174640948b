// The rows a log view draws: one per line, plus, under each line whose data the person expanded, one row per line of
// that data as indented JSON. Every row is one line high, so the position of any row stays arithmetic (the virtualizer
// needs nothing measured) and the data is read inline, between the lines around it.
import type { LineSource } from './run-lines';

/** Most rows of one line's data; the rest is said in one more row. */
export const maxDataRows = 400;

/** A row: the line at `line`, or (`sub` ≥ 0) the sub-th row of its data. */
export interface Row {
  line: number;
  sub: number;
}

/** The data of a line as the rows that show it: indented JSON, cut at maxDataRows. */
export function dataRows(data: unknown): string[] {
  let json: string;
  try {
    json = JSON.stringify(data, null, 2) ?? String(data);
  } catch {
    json = String(data);
  }
  const rows = json.split('\n');
  if (rows.length <= maxDataRows) return rows;
  return [...rows.slice(0, maxDataRows), `… ${(rows.length - maxDataRows).toLocaleString('en-US')} more lines (Export as JSON has it all)`];
}

interface Expansion {
  line: number;
  seq: number;
  rows: string[];
}

export class LogRows {
  /** the expanded lines held, in line order */
  private readonly expansions: Expansion[];

  constructor(
    readonly lines: LineSource,
    /** the seqs of the lines whose data is shown, with its rows */
    expanded: ReadonlyMap<number, string[]>,
  ) {
    const first = lines.length > 0 ? lines.seqAt(0) : 0;
    this.expansions = [];
    if (expanded.size === 0 || lines.length === 0) return;
    // seqs grow with the index: find each expanded seq's index by binary search
    for (const [seq, rows] of expanded) {
      if (seq < first) continue;
      const line = indexOfSeq(lines, seq);
      if (line >= 0) this.expansions.push({ line, seq, rows });
    }
    this.expansions.sort((a, b) => a.line - b.line);
  }

  get count(): number {
    let n = this.lines.length;
    for (const e of this.expansions) n += e.rows.length;
    return n;
  }

  /** What row `row` shows. */
  at(row: number): Row {
    let offset = 0;
    for (const e of this.expansions) {
      const at = e.line + offset;
      if (row <= at) break;
      if (row <= at + e.rows.length) return { line: e.line, sub: row - at - 1 };
      offset += e.rows.length;
    }
    return { line: row - offset, sub: -1 };
  }

  /** The row that shows line `line`. */
  rowOf(line: number): number {
    let offset = 0;
    for (const e of this.expansions) {
      if (e.line >= line) break;
      offset += e.rows.length;
    }
    return line + offset;
  }

  /** The line a row belongs to (a data row: the line it is the data of). */
  lineOf(row: number): number {
    return this.at(row).line;
  }

  /** The text of a data row. */
  dataRow(row: Row): string {
    return this.expansions.find((e) => e.line === row.line)?.rows[row.sub] ?? '';
  }
}

function indexOfSeq(lines: LineSource, seq: number): number {
  let lo = 0;
  let hi = lines.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = lines.seqAt(mid);
    if (at === seq) return mid;
    if (at < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
