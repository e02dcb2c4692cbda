// The extension in Notebook 7: start, watch and kill a job there too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cell,
  killJob,
  newJob,
  notebook,
  outputText,
  rowOf,
  runInBackground,
  useNotebook,
  waitForState
} from './lab.mjs';

const session = useNotebook(
  {
    'nb7.ipynb': notebook([
      'import time\nfor i in range(3):\n    print("nb7 tick", i, flush=True)\n    time.sleep(0.1)',
      'while True:\n    pass'
    ])
  },
  'nb7.ipynb',
  // A setting of the user's, as Notebook 7's Settings Editor writes it.
  { app: 'notebook', settings: { 'parallel-cell:plugin': { concurrency: 1 } } }
);

test('Notebook 7: right-click → Run in Background streams into the cell', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 0));
  await waitForState(page, jobId, 'done');
  const text = await outputText(page, 0);
  assert.match(text, /nb7 tick 0[\s\S]*nb7 tick 2/);
  assert.equal(await cell(page, 0).getAttribute('data-parallel-cell-state'), 'done');
});

test('Notebook 7: kill from the panel', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 1));
  await waitForState(page, jobId, 'running');
  await killJob(page, jobId);
});

test('Notebook 7: the user settings apply (concurrency 1: a second job waits its turn)', async () => {
  const { page } = session;
  const busy = await newJob(page, () => runInBackground(page, 1));
  await waitForState(page, busy, 'running');
  const next = await newJob(page, () => runInBackground(page, 0));
  await waitForState(page, next, 'queued');
  // Its cell takes ~0.3 s: had it started beside the other, it would have ended by now.
  await page.waitForTimeout(2000);
  assert.equal(await rowOf(page, next).getAttribute('data-job-state'), 'queued');
  await killJob(page, busy);
  await waitForState(page, next, 'done');
});

test('Notebook 7: no uncaught errors from parallel-cell in the page', () => {
  // Notebook 7.6.5 itself throws one "reading 'schema'" TypeError at start-up, with or
  // without this extension; only errors raised in our bundle count here.
  const ours = session.errors.filter(stack => stack.includes('/extensions/parallel-cell/'));
  assert.deepEqual(ours, []);
});
