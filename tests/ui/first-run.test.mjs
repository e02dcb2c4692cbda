// A new user: the jobs panel is closed; the first background job opens it, and the
// keyboard focus stays in the notebook.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cell, notebook, useNotebook, waitForState } from './lab.mjs';

const session = useNotebook(
  { 'first.ipynb': notebook(['print("first job")', 'print("second job")']) },
  'first.ipynb',
  { panel: false }
);

/** What of the extension's code the page has loaded, from the chunks its bundler
 * registered: the core (the wasm's JavaScript glue) and the runtime's source (the kernel
 * bootstrap). */
function loaded(page) {
  return page.evaluate(() => {
    const modules = (self.rspackChunkparallel_cell ?? []).flatMap(([, m]) => Object.values(m));
    const holding = text => modules.filter(m => String(m).includes(text)).length;
    return { core: holding('__wbindgen') > 0, bootstrap: holding('b64decode(') };
  });
}

test('start-up loads the core but not the runtime, which waits for the first job', async () => {
  const { page } = session;
  // The core is there: the commands know whether this notebook can run jobs.
  await page.waitForFunction(
    () => window.jupyterapp.commands.isEnabled('parallel-cell:run-in-background'),
    null,
    { timeout: 30_000 }
  );
  assert.deepEqual(await loaded(page), { core: true, bootstrap: 0 });
});

test('the first job opens the Background Jobs panel and leaves the focus in the notebook', async () => {
  const { page } = session;
  assert.equal(await page.locator('#parallel-cell-jobs').isVisible(), false);
  await cell(page, 0).locator('.jp-InputPrompt').click();
  await page.keyboard.press('Control+Shift+Enter');
  await page.locator('#parallel-cell-jobs').waitFor({ state: 'visible', timeout: 30_000 });
  const jobId = await page
    .locator('#parallel-cell-jobs [data-job-id]')
    .first()
    .getAttribute('data-job-id');
  await waitForState(page, jobId, 'done');
  assert.equal(
    await page.evaluate(() => !!document.activeElement?.closest('.jp-Notebook')),
    true,
    'focus is still in the notebook'
  );
  // Closed again by the user, it stays closed for the next job.
  await page.evaluate(() => window.jupyterapp.shell.collapseRight());
  await cell(page, 1).locator('.jp-InputPrompt').click();
  await page.keyboard.press('Control+Shift+Enter');
  await page.waitForFunction(
    () => document.querySelectorAll('#parallel-cell-jobs [data-job-state="done"]').length === 2,
    null,
    { timeout: 30_000 }
  );
  assert.equal(await page.locator('#parallel-cell-jobs').isVisible(), false);
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(session.errors, []);
});

test('the first job fetched the runtime, once', async () => {
  assert.deepEqual(await loaded(session.page), { core: true, bootstrap: 1 });
});
