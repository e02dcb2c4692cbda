// The core journeys in one installed environment of the compatibility matrix
// (scripts/test-compat.sh): the released wheel in that environment's JupyterLab or
// Notebook 7, its own ipykernel, real Chromium. Test names start "<app> · <journey>:",
// which the script reads into its table. PC_COMPAT_VENV names the venv,
// PC_COMPAT_APP is `lab` or `notebook`, PC_COMPAT_CLUSTER=1 adds Run on Cluster.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cell,
  fileLines,
  killJob,
  newJob,
  notebook,
  notebookOnDisk,
  openPanel,
  outputText,
  assertPrinted,
  printing,
  lines,
  rowOf,
  runInBackground,
  runInForeground,
  runOnCluster,
  useNotebook,
  waitForOutput,
  waitForState
} from '../ui/lab.mjs';

const venv = process.env.PC_COMPAT_VENV ?? '.venv';
const app = process.env.PC_COMPAT_APP ?? 'lab';
const cluster = process.env.PC_COMPAT_CLUSTER === '1';

const CELLS = [
  // 0: start and stream
  printing('s', 6, 0.3),
  // 1: error
  'def inner():\n    raise ValueError("compat boom")\ninner()',
  // 2: kill in time.sleep
  'import time\nprint("going to sleep", flush=True)\ntime.sleep(120)\nprint("woke")',
  // 3: a job assigns, 4: the foreground reads it
  'shared = sum(range(10))',
  'print("seen", shared)',
  // 5: runs across a reload
  printing('r', 30, 0.2),
  // 6: on a Dask worker
  'import os\nprint("on worker", os.getpid(), flush=True)\nbase = 6 * 7\nbase'
];

const session = useNotebook({ 'compat.ipynb': notebook(CELLS) }, 'compat.ipynb', {
  app,
  venv
});

test(`${app} · stream: Run in Background streams into the cell while the foreground runs`, async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 0));
  await waitForState(page, jobId, 'running');
  // Live: a line is in the cell while the job still runs.
  await waitForOutput(page, 0, /\bs1\b/);
  assert.equal(await rowOf(page, jobId).getAttribute('data-job-state'), 'running');
  await waitForState(page, jobId, 'done');
  await assertPrinted(page, 0, 's', lines('s', 6));
  assert.equal(await cell(page, 0).getAttribute('data-parallel-cell-state'), 'done');
});

test(`${app} · error: an error shows its traceback in the row and the cell`, async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 1));
  await waitForState(page, jobId, 'error');
  const traceback = rowOf(page, jobId).locator('[data-role="traceback"]');
  assert.match((await traceback.textContent()) ?? '', /ValueError: compat boom/);
  assert.match(await outputText(page, 1), /ValueError[\s\S]*compat boom/);
});

test(`${app} · kill: a kill ends a job that sleeps`, async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 2));
  await waitForOutput(page, 2, /going to sleep/);
  await killJob(page, jobId);
  assert.doesNotMatch(await outputText(page, 2), /woke/);
});

test(`${app} · names: a job's names are the notebook's`, async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 3));
  await waitForState(page, jobId, 'done');
  await runInForeground(page, 4);
  await waitForOutput(page, 4, /seen 45/);
});

test(`${app} · reload: after a reload the job is listed again and streams on, once`, async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 5));
  await waitForOutput(page, 5, /\br3\b/);
  const said = []; // what the extension tells the console (its problems, a kernel's errors)
  page.on('console', m => m.text().includes('parallel-cell') && said.push(m.text()));
  await page.reload();
  await page.waitForSelector('.jp-Notebook .jp-Cell', { timeout: 60_000 });
  await openPanel(page);
  await rowOf(page, jobId).waitFor({ state: 'attached', timeout: 30_000 });
  await waitForState(page, jobId, 'done');
  await waitForOutput(page, 5, /\br29\b/);
  try {
    await assertPrinted(page, 5, 'r', lines('r', 30));
  } catch (error) {
    // What each writer held, should a line ever go missing again (it did before the
    // cells refused a batch past their mark: a list answer and outputs in one message).
    const mark = await page.evaluate(
      () =>
        window.jupyterapp.shell.currentWidget.content.widgets[5].model.getMetadata(
          'parallel_cell'
        ) ?? null
    );
    const nb = notebookOnDisk(session.lab, 'compat.ipynb');
    const ours = session.lab
      .log()
      .split('\n')
      .filter(l => l.includes('parallel-cell'));
    throw new Error(
      `${error.message}\nthe page's replay mark: ${JSON.stringify(mark)}` +
        `\non disk: mark ${JSON.stringify(nb.cells[5].metadata?.parallel_cell ?? null)}, ` +
        `lines ${JSON.stringify(fileLines(nb, 5, 'r'))}\nthe page said:\n${said.slice(-20).join('\n')}` +
        `\nthe server said:\n${ours.slice(-20).join('\n')}`,
      { cause: error }
    );
  }
});

test(
  `${app} · cluster: Run on Cluster`,
  { skip: !cluster && 'Dask is not in this environment' },
  async () => {
    const { page } = session;
    const jobId = await newJob(page, () => runOnCluster(page, 6));
    await waitForState(page, jobId, 'done', 120_000);
    assert.match(await outputText(page, 6), /on worker \d+[\s\S]*42/);
  }
);

test(`${app} · errors: no uncaught errors from parallel-cell in the page`, () => {
  const ours = session.errors.filter(stack => stack.includes('/extensions/parallel-cell/'));
  assert.deepEqual(ours, []);
});
