// The page's bounding (labextension/src/bounded.ts, as built into labextension/lib) still
// gives the texts of tests/golden/bounded.json, which the server's streams.py is checked
// against too: one format, one set of rules for both writers. No browser needed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { run } from '../../scripts/gen_bounded_golden.mjs';
import { parseGap } from '../../labextension/lib/bounded.js';

const golden = JSON.parse(readFileSync(new URL('../golden/bounded.json', import.meta.url), 'utf8'));

test('the page bounds every golden case to the same text', () => {
  golden.cases.forEach((c, i) => {
    assert.equal(run(c, golden.cases), c.text, `case ${i}: ${c.about}`);
  });
});

test('a gap is found whatever the locale wrote its numbers with', () => {
  for (const [text, lines, chars] of [
    ['a\n⋯ 1,234 lines (56,789 characters) … ⋯\nb', 1234, 56789],
    ['a\n⋯ 1.234 Zeilen (56.789 Zeichen) … ⋯\nb', 1234, 56789],
    ['a\n⋯ 1\u202f234 lignes (56\u202f789 caractères) … ⋯\nb', 1234, 56789]
  ]) {
    const found = parseGap(text);
    assert.deepEqual(found, { head: 'a\n', tail: 'b', hiddenLines: lines, hiddenChars: chars });
  }
  assert.equal(parseGap('⋯ no numbers ⋯\n'), null);
});
