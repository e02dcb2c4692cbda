// Run on Cluster (#8) in a real JupyterLab: the cell runs on a worker of the Dask
// LocalCluster the kernel starts, its output streams into the cell, the names it
// assigns come back, the row says where it runs and links the dashboard; a task that
// never stops is cancelling until the person agrees to restart its worker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cell,
  newJob,
  notebook,
  outputText,
  rowOf,
  runInForeground,
  runOnCluster,
  useNotebook,
  waitForOutput,
  waitForState
} from './lab.mjs';

const CELLS = [
  // 0: the kernel's namespace
  'base = 7\nprint("base set")',
  // 1: reads `base` on a worker, prints, assigns `answer`, ends with an expression
  'import os, time\nprint("on worker", os.getpid(), flush=True)\ntime.sleep(1.5)\nanswer = base * 6\nanswer',
  // 2: the foreground sees what came back
  'print("answer is", answer, "kernel pid", __import__("os").getpid())',
  // 3: a task that never reaches a checkpoint
  'while True:\n    pass'
];

const session = useNotebook({ 'cluster.ipynb': notebook(CELLS) }, 'cluster.ipynb');

test('Run on Cluster: globals out, live output, result and names back, where and dashboard', async () => {
  const { page } = session;
  await runInForeground(page, 0);
  await waitForOutput(page, 0, /base set/, 15_000);

  const jobId = await newJob(page, () => runOnCluster(page, 1));
  const row = rowOf(page, jobId);
  const where = row.locator('[data-role="where"]');
  // The first job starts the kernel's LocalCluster: the row waits for a worker.
  assert.match((await where.textContent()) ?? '', /Dask/);
  await waitForState(page, jobId, 'running', 90_000);
  assert.match((await where.textContent()) ?? '', /Dask · tcp:\/\/127\.0\.0\.1:\d+/);
  const link = row.locator('a[data-role="dashboard"]');
  const href = (await link.getAttribute('href')) ?? '';
  assert.match(href, /^http:\/\/127\.0\.0\.1:\d+\/status$/);
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.match((await link.getAttribute('rel')) ?? '', /noopener/);
  const dashboard = await fetch(href);
  assert.equal(dashboard.status, 200, 'the dashboard link is served');

  // Live: the print is in the cell while the task still sleeps.
  await waitForOutput(page, 1, /on worker \d+/, 15_000);
  assert.equal(await row.getAttribute('data-job-state'), 'running');
  await waitForState(page, jobId, 'done', 30_000);
  assert.match(await outputText(page, 1), /42/);
  assert.equal(await cell(page, 1).getAttribute('data-parallel-cell-state'), 'done');
  const workerPid = Number((await outputText(page, 1)).match(/on worker (\d+)/)[1]);

  await runInForeground(page, 2);
  await waitForOutput(page, 2, /answer is 42/, 15_000);
  const kernelPid = Number((await outputText(page, 2)).match(/kernel pid (\d+)/)[1]);
  assert.notEqual(workerPid, kernelPid, 'the cell ran in another process');
});

test('a task that never stops: cancelling, then its worker restarts once confirmed', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runOnCluster(page, 3));
  await waitForState(page, jobId, 'running', 60_000);
  const kill = rowOf(page, jobId).locator('button[aria-label="Kill job"]');
  await kill.click();
  await waitForState(page, jobId, 'cancelling', 10_000);
  await page.waitForFunction(
    id =>
      /has not stopped/.test(
        document.querySelector(`#parallel-cell-jobs [data-job-id="${id}"]`)?.textContent ?? ''
      ),
    jobId,
    { timeout: 15_000 }
  );
  // A second kill asks before restarting the worker; cancel leaves it cancelling.
  await kill.click();
  const dialog = page.locator('.jp-Dialog');
  await dialog.getByText('Restart the Dask worker?').waitFor({ timeout: 10_000 });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await page.waitForTimeout(1_000);
  assert.equal(await rowOf(page, jobId).getAttribute('data-job-state'), 'cancelling');
  await kill.click();
  await dialog.getByRole('button', { name: 'Restart worker' }).click();
  await waitForState(page, jobId, 'killed', 60_000);
  await waitForOutput(page, 3, /was restarted to stop this job/, 15_000);
});
