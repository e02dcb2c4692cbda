// Journeys 11 and 12: the user's settings (Settings Editor) shape what happens — the cap
// per kernel, notifications, and the runtime settings that travel to the kernel.
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
  runInForeground,
  useNotebook,
  waitForOutput,
  waitForState
} from './lab.mjs';

const NAP = 'import time\ntime.sleep(2.5)\nprint("napped")';
const LONG_NAP = 'import time\ntime.sleep(8)\nprint("napped long")';
const CONFIG = [
  'import _parallel_cell_runtime as rt',
  'c = rt.Config',
  'print("config", c.log_limit_outputs, c.kill_grace_seconds, c.interruptible_sleep, c.warn_conflicts)'
].join('\n');

const session = useNotebook(
  {
    'a.ipynb': notebook([LONG_NAP, NAP, CONFIG, 'import time\ntime.sleep(3)\nprint("slept")']),
    'b.ipynb': notebook([NAP])
  },
  'a.ipynb',
  {
    settings: {
      'parallel-cell:plugin': {
        concurrency: 1,
        notifications: false,
        notifyAfterSeconds: 0,
        logLimit: 50,
        killGraceSeconds: 0.25,
        interruptibleSleep: false,
        warnConflicts: false
      }
    }
  }
);

test('the Settings Editor shows the settings of Background Jobs', async () => {
  const { page } = session;
  await page.evaluate(() =>
    window.jupyterapp.commands.execute('settingeditor:open', { query: 'Background Jobs' })
  );
  const form = page.locator('.jp-SettingsPanel, .jp-SettingsEditor').first();
  for (const title of [
    'Jobs running at once per kernel',
    'Notify when a job ends',
    'Outputs kept per job for replay',
    'Kill interrupts time.sleep and waits',
    'Warn about name conflicts'
  ]) {
    await form.getByText(title, { exact: false }).first().waitFor({ timeout: 30_000 });
  }
  await page.evaluate(() => window.jupyterapp.commands.execute('application:close'));
});

test('the cap is per kernel: a second job waits in its queue, another kernel runs at once', async () => {
  const { page } = session;
  await showNotebook(page, 'b.ipynb'); // its kernel up first
  await showNotebook(page, 'a.ipynb');
  const first = await newJob(page, () => runInBackground(page, 0));
  const second = await newJob(page, () => runInBackground(page, 1));
  await waitForState(page, first, 'running');
  assert.equal(await rowOf(page, second).getAttribute('data-job-state'), 'queued');
  assert.equal(await cell(page, 1).getAttribute('data-parallel-cell-state'), 'queued');
  await showNotebook(page, 'b.ipynb');
  const other = await newJob(page, () => runInBackground(page, 0));
  await waitForState(page, other, 'running', 15_000);
  assert.equal(await rowOf(page, second).getAttribute('data-job-state'), 'queued');
  // FIFO: the queued job starts when the first ends.
  await waitForState(page, first, 'done', 15_000);
  await waitForState(page, second, 'done', 15_000);
  await waitForState(page, other, 'done', 15_000);
});

test('notifications off: jobs end without a toast', async () => {
  const { page } = session;
  assert.equal(await page.locator('.Toastify__toast', { hasText: 'Background job' }).count(), 0);
});

test('the runtime settings reach the kernel', async () => {
  const { page } = session;
  await showNotebook(page, 'a.ipynb');
  await runInForeground(page, 2);
  await waitForOutput(page, 2, /config \d+/);
  assert.match(await outputText(page, 2), /config 50 0\.25 False False/);
});

test('with interruptible sleep off, a kill waits for time.sleep to return', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 3));
  await waitForState(page, jobId, 'running');
  const t0 = Date.now();
  await rowOf(page, jobId).locator('button[aria-label="Kill job"]').click();
  await waitForState(page, jobId, 'cancelling', 5_000);
  await waitForState(page, jobId, 'killed', 15_000);
  const took = Date.now() - t0;
  console.log(`# kill with interruptible sleep off took ${took} ms (the sleep was 3 s)`);
  assert.ok(took > 1500, `killed after ${took} ms: the sleep was interrupted`);
  assert.doesNotMatch(await outputText(page, 3), /slept/);
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(session.errors, []);
});
