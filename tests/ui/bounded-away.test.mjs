// One huge stream output written by the page, then by the server while no page is open,
// then by the page again (issue 20): each writer goes on with the other's gap, and the
// lines shown plus the lines the gap counts stay the lines printed.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  launchBrowser,
  notebook,
  notebookOnDisk,
  openNotebook,
  openPanel,
  runSideBySide,
  startLab,
  untilTrue,
  waitForOutput,
  waitForState
} from './lab.mjs';

const LIMIT = 10_000; // the setting's lowest value
// Three thousand lines in three parts; the test opens each gate (a file) in its turn.
const JOB = `import os, time
for i in range(3000):
    for gate in ('gate1',) * (i == 1000) + ('gate2',) * (i == 2000):
        while not os.path.exists(gate):
            time.sleep(0.1)
    print(f"line {i:05d} " + "x" * 40)
print("END")`;
const GAP = /⋯ ([\d,]+) lines \(([\d,]+) characters\) not shown here[^\n]* ⋯\n/;

let lab;
let browser;

before(async () => {
  lab = await startLab({ 'big.ipynb': notebook([JOB]) }, 'lab', {
    settings: { 'parallel-cell:plugin': { streamLimit: LIMIT } }
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await lab?.stop();
});

/** The numbered lines a bounded text shows, and the lines its gap counts. */
function counted(text) {
  const gap = text.match(GAP);
  assert.ok(gap, `no gap in ${text.slice(0, 200)}…`);
  const shown = text.split('\n').filter(l => /^line \d{5} /.test(l));
  return { shown, hidden: Number(gap[1].replace(/,/g, '')) };
}

const streamText = outputs =>
  outputs
    .filter(o => o.output_type === 'stream' && o.name === 'stdout')
    .map(o => [o.text].flat().join(''));

test('page, then server, then page again: one output, and the counts add up', async () => {
  const first = await openNotebook(browser, lab, 'big.ipynb', 'lab/workspaces/b1/tree');
  await openPanel(first.page);
  const [job] = await runSideBySide(first.page, 0, 0);
  await waitForOutput(first.page, 0, /line 00999/);
  await first.context.close();

  // No page: the server takes over and goes on with the page's gap.
  await untilTrue(lab, () => /no page holds kernel/.test(lab.log()), 'the server took over');
  writeFileSync(join(lab.root, 'gate1'), '');
  const onDisk = () => streamText(notebookOnDisk(lab, 'big.ipynb').cells[0].outputs);
  await untilTrue(lab, () => onDisk().join('').includes('line 01999'), 'line 01999 on disk');
  const disk = onDisk();
  assert.equal(disk.length, 1, 'one stream output on disk');
  const away = counted(disk[0]);
  assert.equal(away.shown[0].slice(0, 10), 'line 00000');
  assert.equal(away.shown.length + away.hidden, 2000, 'shown + hidden after the server');
  assert.ok(disk[0].length <= LIMIT + 200, `${disk[0].length} characters on disk`);

  // A page again: it goes on with the server's gap.
  const again = await openNotebook(browser, lab, 'big.ipynb', 'lab/workspaces/b2/tree');
  const { page } = again;
  await openPanel(page);
  writeFileSync(join(lab.root, 'gate2'), '');
  await waitForState(page, job, 'done', 60_000);
  await waitForOutput(page, 0, /END/);
  const outputs = await page.evaluate(() =>
    window.jupyterapp.shell.currentWidget.content.widgets[0].model.outputs.toJSON()
  );
  const texts = streamText(outputs);
  assert.equal(texts.length, 1, 'one stream output in the page');
  const { shown, hidden } = counted(texts[0]);
  assert.equal(shown[0].slice(0, 10), 'line 00000', 'the head is the start');
  assert.ok(texts[0].endsWith('line 02999 ' + 'x'.repeat(40) + '\nEND\n'), 'the live end');
  assert.equal(shown.length + hidden, 3000, 'shown + hidden after the page again');
  // Each line once, in order: the tail follows the gap exactly.
  const numbers = shown.map(l => Number(l.slice(5, 10)));
  const jump = numbers.findIndex((n, k) => k > 0 && n !== numbers[k - 1] + 1);
  assert.equal(numbers[jump] - numbers[jump - 1] - 1, hidden, 'the gap is the lines not shown');
  assert.deepEqual(again.errors, []);
  await again.context.close();
});
