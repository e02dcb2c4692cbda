// More journeys: ways to start a job, what it refuses, and a kernel restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  runRangeInBackground,
  cell,
  newJob,
  outputText,
  rowOf,
  useNotebook,
  waitForOutput,
  waitForState
} from './lab.mjs';

const code = source => ({
  cell_type: 'code',
  metadata: {},
  source,
  outputs: [],
  execution_count: null
});

const NOTEBOOK = {
  cells: [
    code('print("from the shortcut")'),
    code('first = 1'),
    code('second = 2'),
    { cell_type: 'markdown', metadata: {}, source: '# a markdown cell' },
    code('import time\nwhile True:\n    time.sleep(0.05)'),
    code('print("after the restart")\nafter_restart = True'),
    code('import time\ntime.sleep(8)\nprint("foreground slept")'),
    code('import os\nprint("pid", os.getpid())')
  ].map((c, i) => ({ ...c, id: `j-${i}` })),
  metadata: {
    kernelspec: { display_name: 'Python 3 (ipykernel)', language: 'python', name: 'python3' }
  },
  nbformat: 4,
  nbformat_minor: 5
};

const session = useNotebook({ 'journeys.ipynb': NOTEBOOK }, 'journeys.ipynb');

const select = async i => cell(session.page, i).locator('.jp-InputPrompt').click();
const isEnabled = () =>
  session.page.evaluate(() =>
    window.jupyterapp.commands.isEnabled('parallel-cell:run-in-background')
  );

test('Ctrl+Shift+Enter runs the selected cell in the background', async () => {
  const { page } = session;
  await select(0);
  const jobId = await newJob(page, () => page.keyboard.press('Control+Shift+Enter'));
  await waitForState(page, jobId, 'done');
  assert.match(await outputText(page, 0), /from the shortcut/);
});

test('several selected cells each become a job', async () => {
  const { page } = session;
  const fresh = await runRangeInBackground(page, 1, 2);
  assert.equal(fresh.length, 2);
  for (const id of fresh) {
    await waitForState(page, id, 'done');
  }
});

test('the command is disabled on a markdown cell and enabled on a code cell', async () => {
  const { page } = session;
  await cell(page, 3).click();
  await page.keyboard.press('Escape');
  await page.waitForFunction(
    () => window.jupyterapp.shell.currentWidget.content.activeCell.model.type === 'markdown'
  );
  assert.equal(await isEnabled(), false);
  await select(1);
  assert.equal(await isEnabled(), true);
});

test('the command palette offers Run in Background', async () => {
  const { page } = session;
  await select(0);
  await page.keyboard.press('Control+Shift+C');
  const input = page.locator('.lm-CommandPalette-input');
  await input.waitFor({ state: 'visible' });
  await input.fill('Run in Background');
  const item = page.locator(
    '.lm-CommandPalette-item[data-command="parallel-cell:run-in-background"]'
  );
  await item.first().waitFor({ state: 'visible' });
  await page.keyboard.press('Escape');
});

test('the cell toolbar has a Run in Background button', async () => {
  const { page } = session;
  await select(0);
  const button = cell(page, 0).locator(
    '.jp-cell-toolbar [data-command="parallel-cell:run-in-background"]'
  );
  await button.waitFor({ state: 'visible', timeout: 10_000 });
  const jobId = await newJob(page, () => button.click());
  await waitForState(page, jobId, 'done');
  assert.match(await outputText(page, 0), /from the shortcut/);
});

test('ipykernel 7: a kill is handled at once while a foreground cell is busy', async () => {
  const { page } = session;
  await select(4);
  const jobId = await newJob(page, () => page.keyboard.press('Control+Shift+Enter'));
  await waitForState(page, jobId, 'running');
  await select(6);
  await page.keyboard.press('Shift+Enter');
  await page.waitForFunction(
    () => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'busy'
  );
  await rowOf(page, jobId).locator('button[aria-label="Kill job"]').click();
  await waitForState(page, jobId, 'killed', 7_000);
  // Killed before the 8 s foreground cell is over: the comm went over a subshell. (The
  // kernel's status is no witness here: the subshell reports its own busy/idle.)
  assert.doesNotMatch(await outputText(page, 6), /slept/);
  await waitForOutput(page, 6, /foreground slept/, 20_000);
});

test('a kernel restart marks running jobs lost, and jobs run again afterwards', async () => {
  const { page } = session;
  await select(4);
  const jobId = await newJob(page, () => page.keyboard.press('Control+Shift+Enter'));
  await waitForState(page, jobId, 'running');
  const t0 = Date.now();
  await page.evaluate(() =>
    window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()
  );
  // "within 2 s" is the requirement; the timeout leaves room for a loaded CI machine.
  await waitForState(page, jobId, 'lost', 5_000);
  console.log(`# kernel restart → lost in ${Date.now() - t0} ms`);
  await select(5);
  const next = await newJob(page, () => page.keyboard.press('Control+Shift+Enter'));
  await waitForState(page, next, 'done');
  assert.match(await outputText(page, 5), /after the restart/);
  assert.equal(await rowOf(page, jobId).getAttribute('data-job-state'), 'lost');
});

test('a kernel that dies (SIGKILL) marks its running jobs lost', async () => {
  const { page } = session;
  await select(7);
  await page.keyboard.press('Shift+Enter');
  await waitForOutput(page, 7, /pid \d+/);
  const pid = Number((await outputText(page, 7)).match(/pid (\d+)/)[1]);
  await select(4);
  const jobId = await newJob(page, () => page.keyboard.press('Control+Shift+Enter'));
  await waitForState(page, jobId, 'running');
  const t0 = Date.now();
  process.kill(pid, 'SIGKILL');
  // "within 2 s" is the requirement; the timeout leaves room for a loaded CI machine.
  await waitForState(page, jobId, 'lost', 5_000);
  console.log(`# kernel SIGKILL → lost in ${Date.now() - t0} ms`);
});
