// The extension in Notebook 7: start, watch and kill a job there too.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  cell,
  launchBrowser,
  newJob,
  notebook,
  openNotebook,
  rowOf,
  runInBackground,
  startLab,
  waitForState
} from './lab.mjs';

let server;
let browser;
let session;

before(async () => {
  server = await startLab(
    {
      'nb7.ipynb': notebook([
        'import time\nfor i in range(3):\n    print("nb7 tick", i, flush=True)\n    time.sleep(0.1)',
        'while True:\n    pass'
      ])
    },
    'notebook'
  );
  browser = await launchBrowser();
  session = await openNotebook(browser, server, 'nb7.ipynb', 'notebooks');
  await session.page.evaluate(() => window.jupyterapp.commands.execute('parallel-cell:open-panel'));
  await session.page.locator('#parallel-cell-jobs').waitFor({ state: 'visible' });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('Notebook 7: right-click → Run in Background streams into the cell', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 0));
  await waitForState(page, jobId, 'done');
  const text = await cell(page, 0).locator('.jp-OutputArea').innerText();
  assert.match(text, /nb7 tick 0[\s\S]*nb7 tick 2/);
  assert.equal(await cell(page, 0).getAttribute('data-parallel-cell-state'), 'done');
});

test('Notebook 7: kill from the panel', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 1));
  await waitForState(page, jobId, 'running');
  await rowOf(page, jobId).locator('button[aria-label="Kill job"]').click();
  await waitForState(page, jobId, 'killed');
});

test('Notebook 7: no uncaught errors from parallel-cell in the page', () => {
  // Notebook 7.6.5 itself throws one "reading 'schema'" TypeError at start-up, with or
  // without this extension; only errors raised in our bundle count here.
  const ours = session.errors.filter(stack => stack.includes('/extensions/parallel-cell/'));
  assert.deepEqual(ours, []);
});
