// A cell deleted mid-job, a notebook closed and reopened mid-job, two notebooks.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  cell,
  launchBrowser,
  newJob,
  notebook,
  openNotebook,
  openPanel,
  rowOf,
  runInBackground,
  startLab,
  waitForState
} from './lab.mjs';

const slow = (label, n) =>
  `import time\nfor i in range(${n}):\n    print("${label}", i, flush=True)\n    time.sleep(0.2)`;

let lab;
let browser;
let session;

before(async () => {
  lab = await startLab({
    'one.ipynb': notebook([slow('one', 10), 'print("keep")']),
    'two.ipynb': notebook([slow('two', 10)])
  });
  browser = await launchBrowser();
  session = await openNotebook(browser, lab, 'one.ipynb');
  await openPanel(session.page);
});

after(async () => {
  await browser?.close();
  await lab?.stop();
});

const exec = (page, command, args = {}) =>
  page.evaluate(([c, a]) => window.jupyterapp.commands.execute(c, a), [command, args]);

test('deleting the cell of a running job: the job goes on in the panel, nothing throws', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 0));
  await waitForState(page, jobId, 'running');
  await cell(page, 0).locator('.jp-InputPrompt').click();
  await exec(page, 'notebook:delete-cell');
  await page.waitForFunction(() => document.querySelectorAll('.jp-Notebook .jp-Cell').length === 1);
  await waitForState(page, jobId, 'done');
  assert.match(await rowOf(page, jobId).innerText(), /one 9/);
  assert.doesNotMatch(await cell(page, 0).locator('.jp-OutputArea').innerText(), /one \d/);
  assert.deepEqual(session.errors, []);
});

test('jobs of two notebooks are grouped by notebook in the panel', async () => {
  const { page } = session;
  await exec(page, 'docmanager:open', { path: 'two.ipynb' });
  await page.waitForFunction(
    () =>
      window.jupyterapp.shell.currentWidget?.context?.path === 'two.ipynb' &&
      window.jupyterapp.shell.currentWidget.sessionContext?.session?.kernel?.status === 'idle',
    null,
    { timeout: 60_000 }
  );
  const twoCell = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').first();
  await twoCell.locator('.jp-InputPrompt').click();
  const jobId = await newJob(page, () => page.keyboard.press('Control+Shift+Enter'));
  await waitForState(page, jobId, 'done');
  const groups = await page.evaluate(() =>
    [...document.querySelectorAll('#parallel-cell-jobs .pc-group')].map(g => ({
      title: g.querySelector('.pc-group-title')?.textContent ?? '',
      jobs: [...g.querySelectorAll('[data-job-id]')].map(r => r.getAttribute('data-job-id'))
    }))
  );
  const two = groups.find(g => g.title.includes('two.ipynb'));
  const one = groups.find(g => g.title.includes('one.ipynb'));
  assert.ok(two && one, `groups: ${JSON.stringify(groups)}`);
  assert.deepEqual(two.jobs, [jobId]);
  assert.ok(!one.jobs.includes(jobId));
  const text = await twoCell.locator('.jp-OutputArea').innerText();
  assert.match(text, /two 9/);
});
