// Many selected cells run at once, through the real UI: the page submits them in slices
// (it stays responsive meanwhile), and their submissions gather into a few comm
// messages (labextension/src/batch.ts). Nothing is lost or sent twice on the way, the
// kernel gets them in notebook order, and each cell gets its own output.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { notebook, outputText, recordSends, sentOf, useNotebook } from './lab.mjs';
import { GATHER_SEND_MS } from '../../labextension/lib/batch.js';

const N = 600;
const CELLS = Array.from({ length: N }, (_, i) => `print("cell-${i}-ran")`);
const session = useNotebook({ 'many.ipynb': notebook(CELLS) }, 'many.ipynb');

test(`${N} cells side by side: each submitted once, in order, in a few messages; each prints into its own cell`, async () => {
  const { page } = session;
  // What the page sends to the kernel's runtime from here on: the submits, with when.
  await recordSends(page, 'submit');
  // All selected (JupyterLab draws a long notebook's cells in idle time: let it first),
  // then one command, as from the context menu.
  await page.evaluate(() => window.jupyterapp.commands.execute('notebook:select-all'));
  await page.waitForFunction(
    () => window.jupyterapp.shell.currentWidget.content.widgets.every(c => !c.isPlaceholder()),
    null,
    { timeout: 120_000, polling: 500 }
  );
  const ids = await page.evaluate(() =>
    window.jupyterapp.commands.execute('parallel-cell:run-side-by-side')
  );
  assert.equal(ids.length, N);
  // Every job ended: the panel's header lists no live job (its list draws only the first
  // rows of so many).
  await page.waitForFunction(
    () =>
      document.querySelector('#parallel-cell-jobs [data-job-id]') !== null &&
      (document.querySelector('#parallel-cell-jobs .pc-summary')?.textContent ?? '').trim() === '',
    null,
    { timeout: 120_000, polling: 200 }
  );
  const sends = (await sentOf(page)).map(({ at, parts }) => ({
    at,
    jobs: parts.filter(part => part?.type === 'submit').map(part => part.job_id)
  }));
  const sent = sends.flatMap(s => s.jobs);
  assert.equal(new Set(sent).size, sent.length, 'no submit went twice');
  // Notebook order: the ids the panel lists for cells 0…N-1, as the page made them.
  const order = await page.evaluate(() => {
    const cells = window.jupyterapp.shell.currentWidget.content.widgets;
    return cells.map(c => c.model.getMetadata('parallel_cell')?.job ?? null);
  });
  assert.deepEqual(sent, order, 'every cell submitted once, in notebook order');
  assert.deepEqual(new Set(sent), new Set(ids));
  // Gathered within batch.ts's bound: a message leaves only once what waits is
  // GATHER_SEND_MS old (or at the end), so m messages took at least (m - 2) × that.
  // (Measured here: all 600 in one message; with a message per slice, 5 over 1.7 s, the
  // page's slices slowed by the kernel's busy/idle round of each.)
  const span = sends[sends.length - 1].at - sends[0].at;
  assert.ok(
    sends.length <= 2 + span / GATHER_SEND_MS,
    `${sends.length} messages over ${span.toFixed(0)} ms`
  );
  console.log(`# ${N} submits in ${sends.length} messages over ${span.toFixed(0)} ms`);
  // Each cell holds its own line, and only its own (the models: a page this long does
  // not draw every cell). A cell's last lines may be written just after its job's end.
  await page.evaluate(() => {
    window.__texts = () =>
      window.jupyterapp.shell.currentWidget.content.widgets.map(c =>
        c.model.outputs
          .toJSON()
          .map(o => [].concat(o.text ?? '').join(''))
          .join('')
      );
  });
  await page
    .waitForFunction(() => window.__texts().every(t => t.length > 0), null, {
      timeout: 30_000,
      polling: 200
    })
    .catch(() => undefined); // the assertion below says which cells lack theirs
  const texts = await page.evaluate(() => window.__texts());
  const wrong = texts.map((t, i) => [i, t]).filter(([i, t]) => t !== `cell-${i}-ran\n`);
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} cells without their own line`);
  assert.match(await outputText(page, 0), /^cell-0-ran\n?$/); // and what is drawn shows it
});
