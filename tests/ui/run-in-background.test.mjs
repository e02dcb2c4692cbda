// The foundation journey in a real JupyterLab, real ipykernel and real Chromium:
// right-click → Run in Background, keep working, see output, errors and kill.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cell,
  newJob,
  notebook,
  outputText,
  rowOf,
  runInBackground,
  runInForeground,
  useNotebook,
  waitForOutput,
  waitForState
} from './lab.mjs';

const CELLS = [
  // 0: a job that prints for ~4 s and leaves a variable behind
  'import time\nfor i in range(20):\n    print("tick", i, flush=True)\n    time.sleep(0.2)\nbg_result = "finished in background"',
  // 1: a foreground cell
  'print("foreground says hi")',
  // 2: a failing job
  'def explode():\n    return 1 / 0\n\nexplode()',
  // 3: a job that never ends
  'spins = 0\nwhile True:\n    spins += 1',
  // 4: reads what the background job left
  'print(bg_result)'
];

const session = useNotebook({ 'jobs.ipynb': notebook(CELLS) }, 'jobs.ipynb');

test('a background job runs while a foreground cell finishes, and prints into its cell', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 0));
  await waitForState(page, jobId, 'running');
  assert.equal(await cell(page, 0).getAttribute('data-parallel-cell-state'), 'running');

  await runInForeground(page, 1);
  await waitForOutput(page, 1, /foreground says hi/, 15_000);
  // The foreground cell is done while the background job is still going.
  assert.equal(await rowOf(page, jobId).getAttribute('data-job-state'), 'running');
  assert.match(await outputText(page, 0), /tick 0/);
  assert.doesNotMatch(await outputText(page, 0), /foreground says hi/);

  await waitForState(page, jobId, 'done', 30_000);
  const text = await outputText(page, 0);
  for (let i = 0; i < 20; i++) {
    assert.match(text, new RegExp(`tick ${i}\\b`));
  }
  assert.equal(await cell(page, 0).getAttribute('data-parallel-cell-state'), 'done');

  // A job longer than the notification threshold (3 s) says it is done, with a way back.
  const toast = page.locator('.Toastify__toast', { hasText: 'Background job done' }).first();
  await toast.waitFor({ state: 'visible', timeout: 5_000 });
  await cell(page, 1).locator('.jp-InputPrompt').click();
  await toast.getByRole('button', { name: 'Go to cell' }).click();
  await page.waitForFunction(
    () => window.jupyterapp.shell.currentWidget.content.activeCellIndex === 0
  );

  // What the job assigned is in the kernel's namespace.
  await runInForeground(page, 4);
  await waitForOutput(page, 4, /finished in background/, 15_000);
});

test('a failing job shows error and its traceback in the panel', async () => {
  const { page } = session;
  // Shorter than the notification threshold: the panel tells, no toast.
  const toasts = await page
    .locator('.Toastify__toast', { hasText: 'Background job error' })
    .count();
  const jobId = await newJob(page, () => runInBackground(page, 2));
  await waitForState(page, jobId, 'error');
  const traceback = rowOf(page, jobId).locator('[data-role="traceback"]');
  const text = await traceback.textContent();
  assert.match(text ?? '', /ZeroDivisionError/);
  assert.match(text ?? '', /return 1 \/ 0/, 'the traceback shows the cell source line');
  assert.match(await outputText(page, 2), /ZeroDivisionError/);
  await page.waitForTimeout(300);
  assert.equal(
    await page.locator('.Toastify__toast', { hasText: 'Background job error' }).count(),
    toasts
  );
});

test('a spinning job is killed from its kill button', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 3));
  await waitForState(page, jobId, 'running');
  await rowOf(page, jobId).locator('button[aria-label="Kill job"]').click();
  await waitForState(page, jobId, 'killed', 15_000);
  assert.equal(await cell(page, 3).getAttribute('data-parallel-cell-state'), 'killed');
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(session.errors, []);
});
