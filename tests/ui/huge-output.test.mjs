// A job that prints more than a cell shows (issue 20): the cell keeps the head and the
// live tail of the stream with a marked gap between them, and "Save output" in the row
// writes everything the kernel logged into a file beside the notebook.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  newJob,
  notebook,
  outputText,
  rowOf,
  runInBackground,
  useNotebook,
  waitForOutput,
  waitForState
} from './lab.mjs';

const LIMIT = 10_000; // the setting's lowest value
const LINES = 3000;
const HUGE = `for i in range(${LINES}):\n    print(f"line {i:05d} " + "x" * 40)\nprint("END")`;
const PROGRESS =
  "for i in range(300):\n    print(f'row {i:04d} ' + 'y' * 40)\nfor k in range(60):\n    print(f'\\rstep {k}', end='', flush=True)";

const session = useNotebook({ 'huge.ipynb': notebook([HUGE, PROGRESS]) }, 'huge.ipynb', {
  settings: { 'parallel-cell:plugin': { streamLimit: LIMIT } }
});

/** The cell's outputs as its model holds them (what is saved in the notebook). */
const modelOutputs = (page, i) =>
  page.evaluate(
    index => window.jupyterapp.shell.currentWidget.content.widgets[index].model.outputs.toJSON(),
    i
  );

const GAP = /⋯ ([\d,]+) lines \(([\d,]+) characters\) not shown here/;

test('a huge stream keeps its head, its live tail and a marked gap, within the limit', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 0));
  await waitForState(page, jobId, 'done');
  await waitForOutput(page, 0, /END/);
  const outputs = await modelOutputs(page, 0);
  assert.equal(outputs.length, 1, 'one stream output');
  const [out] = outputs;
  assert.equal(out.output_type, 'stream');
  const text = [out.text].flat().join('');
  const gap = text.match(GAP);
  assert.ok(gap, `no gap marker in ${text.slice(0, 200)}…`);
  const [head, tail] = text.split(/\n⋯[^\n]*\n/);
  assert.ok(head.startsWith('line 00000 '), 'the head is the start of the stream');
  assert.ok(tail.endsWith('END\n'), 'the tail is the live end');
  assert.ok(head.length + tail.length <= LIMIT, `${head.length + tail.length} > ${LIMIT}`);
  // The lines shown and the lines the gap counts are the job's lines, each once.
  const shown = `${head}\n${tail}`.split('\n').filter(l => l.startsWith('line '));
  const hidden = Number(gap[1].replace(/,/g, ''));
  assert.equal(shown.length + hidden, LINES);
  const numbers = shown.map(l => Number(l.slice(5, 10)));
  const firstTail = numbers.find((n, k) => k > 0 && n !== numbers[k - 1] + 1);
  assert.equal(firstTail - numbers[numbers.indexOf(firstTail) - 1] - 1, hidden, 'gap size');
  // The page shows what the model holds.
  const rendered = await outputText(page, 0);
  assert.match(rendered, GAP);
  assert.match(rendered, /line 00000/);
});

test('Save output writes all the job logged beside the notebook, under a free name', async () => {
  const { page, lab } = session;
  const jobId = await newJob(page, () => runInBackground(page, 0));
  await waitForState(page, jobId, 'done');
  const saves = () => readdirSync(lab.root).filter(f => /^huge-job-\d+-output(-2)?\.txt$/.test(f));
  const before = saves().length;
  const save = rowOf(page, jobId).locator('button[aria-label="Save output"]');
  for (const expected of [before + 1, before + 2]) {
    await save.click();
    await page
      .getByText(/Saved the output of job \d+ to huge-job-\d+-output/)
      .first()
      .waitFor();
    const deadline = Date.now() + 10_000;
    while (saves().length < expected && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 100));
    }
    assert.equal(saves().length, expected);
  }
  const files = saves().sort();
  assert.ok(
    files.some(f => f.endsWith('-output-2.txt')),
    `a second save takes a new name: ${files}`
  );
  const lines = readFileSync(join(lab.root, files[files.length - 1]), 'utf8').split('\n');
  assert.equal(lines.length, LINES + 2); // every line, END, and the final newline
  assert.equal(lines[0], 'line 00000 ' + 'x'.repeat(40));
  assert.equal(lines[LINES - 1], `line ${String(LINES - 1).padStart(5, '0')} ` + 'x'.repeat(40));
  assert.equal(lines[LINES], 'END');
});

test('carriage returns rewrite the last line of a bounded stream', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 1));
  await waitForState(page, jobId, 'done');
  await waitForOutput(page, 1, /step 59/);
  const text = [(await modelOutputs(page, 1))[0].text].flat().join('');
  assert.match(text, GAP);
  const last = text.split('\n').pop();
  assert.equal(last, 'step 59', 'the progress line is one line, at its last value');
  assert.doesNotMatch(text, /step 58/);
});
