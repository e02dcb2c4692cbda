// One stream output bounded to `limit` characters: its head (a fifth of the limit, cut
// at a line end), one gap line, then its live tail. Pure, and the same rules as the
// server's `parallel_cell/server/streams.py` (tests/golden/bounded.json checks both).
//
// The gap line is the format both writers share: it is found in the text itself, so a
// page can go on with an output the server bounded while no page was open, and back.
// It is the first line that starts with "⋯ " and ends with " ⋯"; its first two numbers
// are the lines and the characters it hides (a translation keeps that order).

/** Characters a cell shows of one stream output, by default (the setting's default). */
export const STREAM_LIMIT = 20_000;
/** The share of the limit kept from the start of the stream; the rest is its tail. */
const HEAD_SHARE = 0.2;
/** The gap line, wherever it is (not with the `m` flag: JavaScript's `$` stops at \r). */
const GAP_LINE = /(?:^|\n)(⋯ [^\n]* ⋯)\n/;
/** A number as `toLocaleString` writes it, with its group separators. */
const NUMBER = /[0-9](?:[0-9.,'\u00a0\u202f]*[0-9])?/g;

/** What the gap says, from the lines and characters it hides. */
export type GapText = (lines: number, chars: number) => string;

/** A bounded stream output's parts. */
export interface IBounded {
  head: string;
  tail: string;
  hiddenChars: number;
  hiddenLines: number;
}

/** `text` with each line's carriage returns applied, as a terminal shows it. */
export function overwrite(text: string): string {
  if (!text.includes('\r')) {
    return text;
  }
  return text
    .replace(/\r+\n/g, '\n')
    .split('\n')
    .map(line => {
      const parts = line.split('\r');
      let shown = parts[0];
      for (const part of parts.slice(1)) {
        shown = part + shown.slice(part.length);
      }
      // A trailing \r stays, so the next write overwrites the line.
      return line.endsWith('\r') ? shown + '\r' : shown;
    })
    .join('\n');
}

export function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
    n++;
  }
  return n;
}

/** The parts of a stream output's text that has a gap line, else `null`. */
export function parseGap(text: string): IBounded | null {
  const found = GAP_LINE.exec(text);
  const numbers = found?.[1].match(NUMBER);
  if (!found || !numbers || numbers.length < 2) {
    return null;
  }
  const [lines, chars] = numbers.map(n => Number(n.replace(/[^0-9]/g, '')));
  const start = found.index + found[0].length - found[1].length - 1;
  return {
    head: text.slice(0, start),
    tail: text.slice(found.index + found[0].length),
    hiddenLines: lines,
    hiddenChars: chars
  };
}

/**
 * The text of a stream output after `added` joins `before` (the last output's text when
 * it is a stream of the same name, else `null`), bounded to `limit`; `null` while it is
 * under the limit and has no gap yet (a plain append does it then).
 */
export function boundedText(
  before: string | null,
  added: string,
  limit: number,
  gapText: GapText
): string | null {
  const headMax = Math.floor(limit * HEAD_SHARE);
  let bounded = before === null ? null : parseGap(before);
  if (bounded) {
    // Carriage returns act on the tail's last line and what is added.
    fitHead(bounded, headMax);
    const start = bounded.tail.lastIndexOf('\n') + 1;
    trim(
      bounded,
      bounded.tail.slice(0, start) + overwrite(bounded.tail.slice(start) + added),
      limit
    );
  } else {
    if ((before?.length ?? 0) + added.length <= limit) {
      return null;
    }
    const all = overwrite((before ?? '') + added);
    const newline = all.lastIndexOf('\n', headMax);
    const head = all.slice(0, newline > 0 ? newline + 1 : headMax);
    bounded = { head, tail: '', hiddenChars: 0, hiddenLines: 0 };
    trim(bounded, all.slice(head.length), limit);
  }
  const gap = gapText(bounded.hiddenLines, bounded.hiddenChars);
  return `${bounded.head}${bounded.head.endsWith('\n') ? '' : '\n'}${gap}\n${bounded.tail}`;
}

/** A head longer than this writer's (another writer's limit was larger) gives way. */
function fitHead(bounded: IBounded, headMax: number): void {
  if (bounded.head.length > headMax) {
    const newline = bounded.head.lastIndexOf('\n', headMax);
    const cut = newline > 0 ? newline + 1 : headMax;
    const moved = bounded.head.slice(cut);
    bounded.head = bounded.head.slice(0, cut);
    // What leaves the head comes right before what the gap hid: the counts still add up.
    bounded.hiddenChars += moved.length;
    bounded.hiddenLines += countLines(moved);
  }
}

/** Set `bounded`'s tail to `tail`, cut from the front (at a line start) to fit. */
function trim(bounded: IBounded, tail: string, limit: number): void {
  const room = limit - bounded.head.length;
  if (tail.length > room) {
    let cut = tail.length - room;
    const newline = tail.indexOf('\n', cut);
    if (newline >= 0 && newline < cut + 1000) {
      cut = newline + 1;
    }
    bounded.hiddenChars += cut;
    bounded.hiddenLines += countLines(tail.slice(0, cut));
    tail = tail.slice(cut);
  }
  bounded.tail = tail;
}
