// A cell deleted mid-job, a notebook closed and reopened mid-job, two notebooks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cell,
  cellOutputText,
  newJob,
  notebook,
  outputText,
  rowOf,
  runInBackground,
  useNotebook,
  waitForState
} from './lab.mjs';

const slow = (label, n) =>
  `import time\nfor i in range(${n}):\n    print("${label}", i, flush=True)\n    time.sleep(0.2)`;

const session = useNotebook(
  {
    'one.ipynb': notebook([
      slow('one', 10),
      'print("keep")',
      // A local tag: globals are shared between the job and the foreground.
      'import time, uuid\n\ndef go(tag):\n    for i in range(10):\n        print("run", tag, i, flush=True)\n        time.sleep(0.2)\n\ngo(uuid.uuid4().hex[:6])'
    ]),
    'two.ipynb': notebook([slow('two', 10)])
  },
  'one.ipynb'
);

const exec = (page, command, args = {}) =>
  page.evaluate(([c, a]) => window.jupyterapp.commands.execute(c, a), [command, args]);

test('deleting the cell of a running job: the job goes on in the panel, nothing throws', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 0));
  await waitForState(page, jobId, 'running');
  await cell(page, 0).locator('.jp-InputPrompt').click();
  await exec(page, 'notebook:delete-cell');
  await page.waitForFunction(() => document.querySelectorAll('.jp-Notebook .jp-Cell').length === 2);
  await waitForState(page, jobId, 'done');
  assert.match(await rowOf(page, jobId).innerText(), /one 9/);
  assert.doesNotMatch(await outputText(page, 0), /one \d/);
  assert.deepEqual(session.errors, []);
});

test('re-running a cell in the foreground while its job runs: the cell shows the new run only', async () => {
  const { page } = session;
  const index = 2; // the first cell was deleted by the test above
  const jobId = await newJob(page, () => runInBackground(page, index - 1));
  await waitForState(page, jobId, 'running');
  await page.waitForFunction(
    i => document.querySelectorAll('.jp-Notebook .jp-Cell')[i]?.textContent?.includes('run '),
    index - 1
  );
  await cell(page, index - 1)
    .locator('.jp-InputPrompt')
    .click();
  await page.keyboard.press('Control+Enter');
  await waitForState(page, jobId, 'done');
  await page.waitForFunction(
    i =>
      /run \w+ 9/.test(
        document.querySelectorAll('.jp-Notebook .jp-Cell')[i]?.querySelector('.jp-OutputArea')
          ?.textContent ?? ''
      ) &&
      document
        .querySelectorAll('.jp-Notebook .jp-Cell')
        [i]?.querySelector('.jp-InputPrompt')
        ?.textContent?.match(/\[\d+\]/),
    index - 1,
    { timeout: 15_000 }
  );
  const lines = (await outputText(page, index - 1))
    .split('\n')
    .filter(line => line.startsWith('run '));
  const runs = new Set(lines.map(line => line.split(' ')[1]));
  assert.equal(runs.size, 1, `one run in the cell, got ${[...runs].join(', ')}`);
  assert.equal(lines.length, 10);
  const jobLast = await rowOf(page, jobId).locator('[data-role="last-line"]').textContent();
  assert.match(jobLast ?? '', /run \w+ 9/);
  assert.ok(!runs.has(jobLast.split(' ')[1]), 'the job ran with its own run id');
  assert.equal(await cell(page, index - 1).getAttribute('data-parallel-cell-state'), null);
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
  const text = await cellOutputText(twoCell);
  assert.match(text, /two 9/);
});
