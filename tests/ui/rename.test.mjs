// A notebook renamed while its job runs ("Untitled.ipynb" → a real name): the job's
// output goes on into its cell, and a page opened afterwards on the new name, which the
// kernel has never heard of, still finds the job's cell; the panel lists the job under
// the new name.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  assertPrinted,
  cell,
  lines,
  newJob,
  notebook,
  openNotebook,
  openPanel,
  runInBackground,
  useNotebook,
  waitForOutput,
  waitForState
} from './lab.mjs';

// Prints once before the rename, then (after the test's gate file) on and on.
const JOB =
  'import os, time\nprint("b0", flush=True)\n' +
  'while not os.path.exists("renamed.gate"):\n    time.sleep(0.02)\n' +
  'for i in range(8):\n    print(f"n{i}", flush=True)\n    time.sleep(0.3)';

/** The panel lists the job under the notebook's new name only. */
async function groupHas(page, name, jobId) {
  await page
    .locator(`#parallel-cell-jobs section[data-notebook="${name}"] [data-job-id="${jobId}"]`)
    .waitFor({ state: 'attached', timeout: 10_000 });
  assert.equal(
    await page.locator('#parallel-cell-jobs section[data-notebook="Untitled.ipynb"]').count(),
    0
  );
}

const session = useNotebook({ 'Untitled.ipynb': notebook([JOB]) }, 'Untitled.ipynb');

test('renaming a notebook while its job runs: the output goes on into its cell, also in a page opened after', async () => {
  const { page, context, browser, lab } = session;
  const jobId = await newJob(page, () => runInBackground(page, 0));
  await waitForOutput(page, 0, /\bb0\b/);
  await page.evaluate(() => window.jupyterapp.shell.currentWidget.context.rename('analysis.ipynb'));
  await page.waitForFunction(
    () => window.jupyterapp.shell.currentWidget.context.path === 'analysis.ipynb'
  );
  writeFileSync(join(lab.root, 'renamed.gate'), '');
  await waitForOutput(page, 0, /\bn1\b/);
  await groupHas(page, 'analysis.ipynb', jobId);
  await context.close();

  // The kernel keeps the job under "Untitled.ipynb"; this page knows only the new name.
  const again = await openNotebook(browser, lab, 'analysis.ipynb');
  await openPanel(again.page);
  await waitForState(again.page, jobId, 'done');
  await waitForOutput(again.page, 0, /\bn7\b/);
  await assertPrinted(again.page, 0, 'n', lines('n', 8));
  await assertPrinted(again.page, 0, 'b', ['b0']);
  assert.equal(await cell(again.page, 0).getAttribute('data-parallel-cell-state'), 'done');
  await groupHas(again.page, 'analysis.ipynb', jobId);
  await again.context.close();
});
