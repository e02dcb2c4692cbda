// Faults mid-job (issue 7): the kernel websocket dropped and reconnected, again and
// again. Afterwards the job shows its true state and its cell has every line once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cell,
  newJob,
  notebook,
  outputText,
  runInBackground,
  useNotebook,
  waitForOutput,
  waitForState
} from './lab.mjs';

const TICKS = 50;
const ALL = Array.from({ length: TICKS }, (_, i) => `tick ${String(i).padStart(2, '0')}`);

const session = useNotebook(
  {
    'faults.ipynb': notebook([
      `import time\nfor i in range(${TICKS}):\n    print(f"tick {i:02d}", flush=True)\n    time.sleep(0.1)`
    ])
  },
  'faults.ipynb'
);

test('the kernel websocket drops and reconnects three times mid-job: nothing lost, nothing twice', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 0));
  await waitForState(page, jobId, 'running');
  for (let i = 0; i < 3; i++) {
    await waitForOutput(page, 0, new RegExp(`tick ${String(5 + 10 * i).padStart(2, '0')}`));
    await page.evaluate(() =>
      window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.reconnect()
    );
  }
  await waitForState(page, jobId, 'done', 30_000);
  await waitForOutput(page, 0, new RegExp(ALL.at(-1)));
  const ticks = (await outputText(page, 0)).match(/tick \d\d/g) ?? [];
  const lost = ALL.filter(t => !ticks.includes(t)).length;
  console.log(
    `# websocket dropped 3 times: lines lost ${lost}, lines twice ${ticks.length - new Set(ticks).size}`
  );
  assert.deepEqual(ticks, ALL);
});

test('the server restarts mid-job (its kernel goes with it): the job shows lost, not running', async () => {
  const { page, lab } = session;
  const jobId = await newJob(page, () => runInBackground(page, 0));
  await waitForState(page, jobId, 'running');
  // A stock jupyter_server shuts its kernels down when it stops; a kernel that outlives
  // its server is not reachable by the next one, so the job cannot go on.
  await lab.restart();
  const up = Date.now();
  await waitForState(page, jobId, 'lost', 60_000);
  console.log(
    `# server restart: the job showed lost ${Date.now() - up} ms after the server was up`
  );
  assert.equal(await cell(page, 0).getAttribute('data-parallel-cell-state'), 'lost');
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(session.errors, []);
});
