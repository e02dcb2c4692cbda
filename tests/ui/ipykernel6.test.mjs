// The starred journeys on ipykernel 6, where comm messages wait behind a busy
// foreground cell: start, watch, keep working, and the UI saying a kill waits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  runRangeInBackground,
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

const session = useNotebook(
  {
    'ipk6.ipynb': notebook(
      [
        'import time\nfor i in range(15):\n    print("six", i, flush=True)\n    time.sleep(0.2)',
        'import ipykernel\nprint("foreground on", ipykernel.__version__)',
        'import time\nwhile True:\n    time.sleep(0.05)',
        'import time\ntime.sleep(3)\nprint("foreground slept")',
        'print("first")',
        'print("second")',
        'print("third")'
      ],
      'python3-ipk6'
    )
  },
  'ipk6.ipynb'
);

test('ipykernel 6: a job streams into its cell while a foreground cell runs and ends', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 0));
  await waitForState(page, jobId, 'running');
  await runInForeground(page, 1);
  await waitForOutput(page, 1, /foreground on 6\./, 15_000);
  assert.equal(await rowOf(page, jobId).getAttribute('data-job-state'), 'running');
  await waitForState(page, jobId, 'done');
  assert.match(await outputText(page, 0), /six 0[\s\S]*six 14/);
});

test('ipykernel 6: a kill sent while the foreground is busy is said to wait, then takes', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 2));
  await waitForState(page, jobId, 'running');
  await runInForeground(page, 3);
  await page.waitForFunction(
    () => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'busy'
  );
  await rowOf(page, jobId).locator('button[aria-label="Kill job"]').click();
  await page
    .locator('.Toastify__toast', { hasText: 'Kill queued' })
    .first()
    .waitFor({ state: 'visible', timeout: 5_000 });
  await waitForState(page, jobId, 'killed', 15_000);
  assert.match(await outputText(page, 3), /foreground slept/);
});

test('ipykernel 6: several selected cells, started by the shortcut, run in notebook order', async () => {
  const { page } = session;
  const fresh = await runRangeInBackground(page, 4, 6);
  assert.equal(fresh.length, 3);
  for (const id of fresh) {
    await waitForState(page, id, 'done');
  }
  // Queued, sent and listed in notebook order.
  const titles = await page.evaluate(
    ids =>
      ids.map(
        id =>
          document.querySelector(`#parallel-cell-jobs [data-job-id="${id}"] .pc-job-title`)
            .textContent
      ),
    fresh
  );
  assert.deepEqual(
    titles.map(t => t.match(/first|second|third/)?.[0]),
    ['first', 'second', 'third']
  );
  assert.match(await outputText(page, 6), /third/);
});
