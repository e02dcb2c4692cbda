// Real-time collaboration (jupyter-collaboration, from .venv-rtc): two pages on one shared
// notebook. Both hear every job message, one writes: each line lands once. When the
// writing page goes away, the other takes over from the cells' replay marks, and a page
// opened after everything ended sees each line once too.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import {
  cell,
  jobIds,
  launchBrowser,
  notebook,
  openNotebook,
  openPanel,
  outputText,
  rowOf,
  startLab,
  waitForOutput,
  waitForState
} from './lab.mjs';

const RTC = resolve(import.meta.dirname, '..', '..', '.venv-rtc');
if (!existsSync(join(RTC, 'bin', 'jupyter'))) {
  // make test builds it (scripts/setup.sh test, then the wheel): never skip in silence.
  throw new Error(`${RTC} is missing: run make test (or scripts/setup.sh test) first`);
}

const printing = (tag, n, pause) =>
  `import time\nfor i in range(${n}):\n    print(f"${tag}{i}", flush=True)\n    time.sleep(${pause})`;
const CELLS = [printing('a', 4, 0.5), printing('b', 12, 0.5), printing('c', 4, 0.3)];
const lines = (tag, n) => Array.from({ length: n }, (_, i) => `${tag}${i}`);
const printed = async (page, i, tag) =>
  (await outputText(page, i)).match(new RegExp(`\\b${tag}\\d+\\b`, 'g')) ?? [];

let lab;
let browser;
let pages = 0;
const open = () => openNotebook(browser, lab, 'shared.ipynb', `lab/workspaces/rtc-${++pages}/tree`);

before(async () => {
  lab = await startLab({ 'shared.ipynb': notebook(CELLS) }, 'lab', {
    venv: '.venv-rtc',
    settings: { 'parallel-cell:plugin': { concurrency: 2, notifications: false } }
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await lab?.stop();
});

test('two pages on a shared notebook: one writes, each line lands once, the other takes over', async () => {
  const a = await open();
  const b = await open();
  await openPanel(a.page);
  await openPanel(b.page);
  // A page takes part in the election once its extension has loaded: wait until each
  // page knows the other can write.
  for (const page of [a.page, b.page]) {
    await page.waitForFunction(
      () =>
        [
          ...window.jupyterapp.shell.currentWidget.context.model.sharedModel.awareness
            .getStates()
            .values()
        ].filter(state => state?.parallelCellWriter === true).length === 2,
      null,
      { timeout: 30_000 }
    );
  }
  // Side by side from page A.
  await cell(a.page, 0).locator('.jp-InputPrompt').click();
  await cell(a.page, 2)
    .locator('.jp-InputPrompt')
    .click({ modifiers: ['Shift'] });
  await a.page.evaluate(() => window.jupyterapp.commands.execute('parallel-cell:run-side-by-side'));
  await a.page.waitForFunction(
    () => document.querySelectorAll('#parallel-cell-jobs [data-job-id]').length === 3
  );
  const [ja, jb, jc] = await jobIds(a.page);
  await waitForState(a.page, jc, 'queued');
  // Both pages show the jobs; while both are open, the shared cell has each line once.
  await rowOf(b.page, ja).waitFor({ state: 'attached', timeout: 30_000 });
  await waitForOutput(b.page, 0, /a2/);
  for (const page of [a.page, b.page]) {
    const seen = await printed(page, 0, 'a');
    assert.deepEqual(seen, lines('a', seen.length));
  }
  // The writing page (maybe A) goes away mid-job; B stays and writes the rest.
  await a.context.close();
  for (const id of [ja, jb, jc]) {
    await waitForState(b.page, id, 'done', 60_000);
  }
  await waitForOutput(b.page, 1, /b11/, 60_000);
  await waitForOutput(b.page, 2, /c3/, 60_000);
  assert.deepEqual(await printed(b.page, 0, 'a'), lines('a', 4));
  assert.deepEqual(await printed(b.page, 1, 'b'), lines('b', 12));
  assert.deepEqual(await printed(b.page, 2, 'c'), lines('c', 4));
  // A third page opened afterwards sees the shared document: each line once.
  const c = await open();
  await openPanel(c.page);
  await rowOf(c.page, jc).waitFor({ state: 'attached', timeout: 30_000 });
  await new Promise(r => setTimeout(r, 2_000)); // room for a wrong replay to show
  assert.deepEqual(await printed(c.page, 1, 'b'), lines('b', 12));
  assert.deepEqual(await printed(c.page, 2, 'c'), lines('c', 4));
  assert.deepEqual(b.errors, []);
  await b.context.close();
  await c.context.close();
});
