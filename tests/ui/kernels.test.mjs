// Journeys around the kernel: a kernel that is not IPython, changing the kernel, and
// closing the notebook while its jobs run (journeys 1, 9 and 10).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  showNotebook,
  cell,
  newJob,
  notebook,
  outputText,
  rowOf,
  runInBackground,
  useNotebook,
  waitForOutput,
  waitForState
} from './lab.mjs';

const TICKS = [
  'import time',
  'for tick in range(30):',
  '    print(f"tick {tick}", flush=True)',
  '    time.sleep(0.2)'
].join('\n');

const session = useNotebook(
  {
    'main.ipynb': notebook([TICKS, 'import time\ntime.sleep(600)', 'print("on the new kernel")']),
    'echo.ipynb': notebook(['hello from a kernel that is not IPython'], 'echo')
  },
  'main.ipynb'
);

/** Close the notebook in view without the "save your work" question. */
async function closeCurrent(page) {
  const path = await page.evaluate(() => {
    const panel = window.jupyterapp.shell.currentWidget;
    panel.context.model.dirty = false;
    panel.dispose();
    return panel.context.path;
  });
  await page.waitForFunction(
    p => ![...window.jupyterapp.shell.widgets('main')].some(w => w.context?.path === p),
    path
  );
}

test('a kernel that is not IPython: the command is disabled and says why', async () => {
  const { page } = session;
  await showNotebook(page, 'echo.ipynb');
  await cell(page, 0).locator('.jp-InputPrompt').click();
  const id = 'parallel-cell:run-in-background';
  await page.waitForFunction(i => /IPython/.test(window.jupyterapp.commands.caption(i)), id, {
    timeout: 10_000
  });
  const state = await page.evaluate(i => {
    const { commands } = window.jupyterapp;
    return { enabled: commands.isEnabled(i), caption: commands.caption(i) };
  }, id);
  assert.equal(state.enabled, false);
  assert.match(state.caption, /needs an IPython kernel, this one is "echo"/);
  // The context menu shows it disabled; menus have no tooltips, so its label says why.
  await cell(page, 0).locator('.jp-InputPrompt').click({ button: 'right' });
  const item = page.locator(`.lm-Menu-item[data-command="${id}"]`);
  await item.waitFor({ state: 'visible' });
  assert.match((await item.getAttribute('class')) ?? '', /lm-mod-disabled/);
  assert.match(await item.innerText(), /Run in Background \(needs an IPython kernel/);
  await page.keyboard.press('Escape');
  // Running the command anyway starts nothing and leaves the kernel alone.
  const rows = await page.locator('#parallel-cell-jobs [data-job-id]').count();
  await page.evaluate(i => window.jupyterapp.commands.execute(i), id);
  await page
    .locator('.Toastify__toast', { hasText: 'needs an IPython kernel' })
    .waitFor({ state: 'visible', timeout: 10_000 });
  assert.equal(await page.locator('#parallel-cell-jobs [data-job-id]').count(), rows);
  await closeCurrent(page);
});

test('closing the notebook keeps its jobs running and listed; reopening reattaches', async () => {
  const { page } = session;
  await showNotebook(page, 'main.ipynb');
  const jobId = await newJob(page, () => runInBackground(page, 0));
  await waitForOutput(page, 0, /tick 2\b/);
  await page.evaluate(() => window.jupyterapp.commands.execute('docmanager:save'));
  await closeCurrent(page);
  // Still listed, under its notebook, and still running in the kernel.
  await page.waitForTimeout(1500);
  assert.equal(await rowOf(page, jobId).getAttribute('data-job-state'), 'running');
  const group = await page.evaluate(
    id =>
      document
        .querySelector(`#parallel-cell-jobs [data-job-id="${id}"]`)
        ?.closest('[data-notebook]')
        ?.getAttribute('data-notebook'),
    jobId
  );
  assert.equal(group, 'main.ipynb');
  await showNotebook(page, 'main.ipynb');
  await waitForState(page, jobId, 'done', 30_000);
  await waitForOutput(page, 0, /tick 29\b/, 15_000);
  const ticks = (await outputText(page, 0)).match(/tick \d+/g) ?? [];
  // Every tick once and in order: the ones printed while the notebook was closed were
  // replayed into the cell, none twice.
  assert.deepEqual(
    ticks,
    Array.from({ length: 30 }, (_, i) => `tick ${i}`)
  );
});

test('changing the kernel marks its running jobs lost within 2 s; the new kernel runs jobs', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 1));
  await waitForState(page, jobId, 'running');
  const t0 = Date.now();
  await page.evaluate(() =>
    window.jupyterapp.shell.currentWidget.sessionContext.changeKernel({ name: 'python3-ipk6' })
  );
  await waitForState(page, jobId, 'lost', 10_000);
  const took = Date.now() - t0;
  console.log(`# kernel change → lost in ${took} ms`);
  assert.equal(await cell(page, 1).getAttribute('data-parallel-cell-state'), 'lost');
  await page.waitForFunction(
    () => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle',
    null,
    { timeout: 60_000 }
  );
  const next = await newJob(page, () => runInBackground(page, 2));
  await waitForState(page, next, 'done');
  assert.match(await outputText(page, 2), /on the new kernel/);
  assert.equal(await rowOf(page, jobId).getAttribute('data-job-state'), 'lost');
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(session.errors, []);
});
