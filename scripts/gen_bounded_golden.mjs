// Writes tests/golden/bounded.json: stream outputs bounded by the page's own code
// (labextension/lib/bounded.js, built by `make build`), which the server's streams.py
// must match (tests/python/test_server_streams.py). Run: node scripts/gen_bounded_golden.mjs
import { writeFileSync } from 'node:fs';
import { boundedText } from '../labextension/lib/bounded.js';

/** The page's gap text in English, numbers as en-US `toLocaleString`. */
export const englishGap = (lines, chars) =>
  `⋯ ${lines.toLocaleString('en-US')} lines (${chars.toLocaleString('en-US')} characters) not shown here: Save output in the job's row of Background Jobs keeps them ⋯`;

/** Line `n` of a job that numbers its lines (the golden spells parts this short way). */
export const line = n => `line ${String(n).padStart(5, '0')} xxxxxxxxxx\n`;

/** A case's parts: strings as they are, `{lines: [from, to], per}` as numbered lines. */
export function expand(parts) {
  return parts.flatMap(part => {
    if (typeof part === 'string') {
      return [part];
    }
    const [from, to] = part.lines;
    const out = [];
    for (let n = from; n < to; n += part.per) {
      out.push(Array.from({ length: Math.min(part.per, to - n) }, (_, k) => line(n + k)).join(''));
    }
    return out;
  });
}

/** A case's final text: its parts added in order after `before`, as a writer adds them. */
export function run(c, earlier) {
  let text = typeof c.before === 'number' ? earlier[c.before].text : c.before;
  for (const part of expand(c.parts)) {
    text = boundedText(text, part, c.limit, englishGap) ?? (text ?? '') + part;
  }
  return text;
}

const cases = [
  {
    about: 'under the limit: a plain append',
    limit: 2000,
    before: null,
    parts: [{ lines: [0, 60], per: 7 }]
  },
  {
    about: 'crosses the limit in steps',
    limit: 2000,
    before: null,
    parts: [{ lines: [0, 600], per: 13 }]
  },
  {
    about: 'one huge part into a new output',
    limit: 2000,
    before: null,
    parts: ['first\n', { lines: [0, 300], per: 300 }]
  },
  {
    about: 'carriage returns on the live last line',
    limit: 2000,
    before: null,
    parts: [{ lines: [0, 150], per: 20 }, ...Array.from({ length: 30 }, (_, k) => `\rstep ${k}`)]
  },
  {
    about: 'a trailing carriage return waits for the next part',
    limit: 2000,
    before: null,
    parts: [{ lines: [0, 150], per: 150 }, 'tick 1\r', 'tick 2\r', 'tock']
  },
  {
    about: 'no line ends at all',
    limit: 2000,
    before: null,
    parts: ['y'.repeat(800), 'z'.repeat(1800), 'w'.repeat(700)]
  },
  {
    about: 'a larger limit went before: its long head gives way',
    limit: 2000,
    before: null,
    parts: []
  },
  {
    about: 'a smaller limit went before',
    limit: 6000,
    before: 1,
    parts: [{ lines: [600, 900], per: 40 }]
  },
  {
    about: 'a translated gap with other group separators',
    limit: 2000,
    before: `${line(0)}${line(1)}⋯ 2\u202f000 lignes (46\u202f000 caractères) non montrées ici ⋯\n${line(2002)}${line(2003)}`,
    parts: [{ lines: [2004, 2200], per: 25 }]
  }
];

const golden = {
  about:
    "Stream outputs bounded by the page's code (labextension/src/bounded.ts, run in node by scripts/gen_bounded_golden.mjs): each case adds its parts in order after `before` (null: no output yet; a number: that case's text), a part under the limit with no gap being a plain append. A part {lines: [from, to], per} is numbered lines `line 00042 xxxxxxxxxx`, `per` to a part. parallel_cell/server/streams.py must give the same text (tests/python/test_server_streams.py); tests/ui/bounded.test.mjs checks the page still does.",
  cases: []
};
// The case after a larger limit starts from case 1 run at three times the limit.
const large = { limit: 6000, before: null, parts: [{ lines: [0, 600], per: 13 }] };
cases[6].before = run(large, []);
cases[6].parts = [{ lines: [600, 700], per: 9 }];
for (const c of cases) {
  golden.cases.push({ ...c, text: run(c, golden.cases) });
}

if (process.argv[1]?.endsWith('gen_bounded_golden.mjs')) {
  const path = new URL('../tests/golden/bounded.json', import.meta.url);
  writeFileSync(path, JSON.stringify(golden, null, 1) + '\n');
  console.log(`tests/golden/bounded.json: ${golden.cases.length} cases`);
}
