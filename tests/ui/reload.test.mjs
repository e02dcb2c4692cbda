// Reload the page mid-job, and a second tab on the same notebook.
//
// The panel lists the kernel's jobs again, running ones go on streaming into their
// cell, output printed while no page was open is replayed into the cell exactly once
// (the notebook is never saved here, so the reloaded cell starts empty: every line must
// come back, in order), and the kernel keeps one comm per page. A cell run twice shows its
// latest run after a reload.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertPrinted,
  launchBrowser,
  lines,
  newJob,
  notebook,
  openNotebook,
  openPanel,
  outputText,
  printing,
  rowOf,
  runInBackground,
  runInForeground,
  startLab,
  waitForOutput,
  waitForState
} from './lab.mjs';

const TICKS = 80; // 16 s: room for two reloads on a loaded machine
const ALL = Array.from({ length: TICKS }, (_, i) => `tick ${String(i).padStart(2, '0')}`);
let lab;
let browser;
let firstJob;

before(async () => {
  lab = await startLab({
    'reload.ipynb': notebook([
      `import time\nfor i in range(${TICKS}):\n    print(f"tick {i:02d}", flush=True)\n    time.sleep(0.2)`,
      'print("comms", len(__import__("_parallel_cell_runtime")._RUNTIME.comms))',
      // Its second run waits for the test's gate file, then ends.
      'import os, time\nruns = globals().get("runs", 0) + 1\nprint(f"run {runs} start", flush=True)\n' +
        'while runs > 1 and not os.path.exists("second.gate"):\n    time.sleep(0.02)\n' +
        'print(f"run {runs} end", flush=True)',
      // While it runs, the kernel's sender gathers every message for 0.4 s (as it does for
      // 20 ms in a burst): the answer to a reloaded page's `list` then leaves in one
      // message with the job's outputs put in right after it.
      'import sys\nbox = sys.modules["_parallel_cell_runtime.outbox"]\n' +
        'before = (box.BURST_SECONDS, box.Config.gather_seconds)\n' +
        'box.BURST_SECONDS, box.Config.gather_seconds = 1e9, 0.4\ntry:\n' +
        printing('g', 30, 0.1).replace(/^/gm, '    ') +
        '\nfinally:\n    box.BURST_SECONDS, box.Config.gather_seconds = before'
    ])
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await lab?.stop();
});

const ticks = async page => (await outputText(page, 0)).match(/tick \d\d/g) ?? [];

test('after reloads the panel lists the running job again and it streams on, once', async () => {
  const { page, context } = await openNotebook(browser, lab, 'reload.ipynb');
  await openPanel(page);
  firstJob = await newJob(page, () => runInBackground(page, 0));
  await waitForState(page, firstJob, 'running');
  await waitForOutput(page, 0, /tick 03/);
  for (let i = 0; i < 2; i++) {
    await page.reload();
    await page.waitForSelector('.jp-Notebook .jp-Cell', { timeout: 60_000 });
    await openPanel(page);
    await rowOf(page, firstJob).waitFor({ state: 'attached', timeout: 30_000 });
    // Named by its code's first line, as the kernel keeps it, not by a number.
    assert.match(await rowOf(page, firstJob).innerText(), /import time/);
  }
  await waitForState(page, firstJob, 'done', 30_000);
  await waitForOutput(page, 0, new RegExp(ALL.at(-1)));
  assert.deepEqual(await ticks(page), ALL);
  // The pages that went away closed their comms: the kernel sends to one page only.
  await runInForeground(page, 1);
  await waitForOutput(page, 1, /comms \d+/);
  assert.match(await outputText(page, 1), /comms 1\b/);
  await context.close();
});

test('a second tab shows the same jobs and neither tab duplicates output', async () => {
  const a = await openNotebook(browser, lab, 'reload.ipynb');
  await openPanel(a.page);
  // The kernel's earlier job is listed in a fresh page too.
  await rowOf(a.page, firstJob).waitFor({ state: 'attached', timeout: 30_000 });
  const jobId = await newJob(a.page, () => runInBackground(a.page, 0));
  await waitForState(a.page, jobId, 'running');
  const b = await openNotebook(browser, lab, 'reload.ipynb');
  await openPanel(b.page);
  await rowOf(b.page, jobId).waitFor({ state: 'attached', timeout: 30_000 });
  await waitForState(a.page, jobId, 'done', 30_000);
  await waitForState(b.page, jobId, 'done', 30_000);
  await waitForOutput(b.page, 0, new RegExp(ALL.at(-1)));
  assert.deepEqual(await ticks(a.page), ALL);
  assert.deepEqual(await ticks(b.page), ALL);
  await a.context.close();
  await b.context.close();
});

test('a cell run twice, its second run ending during a reload: the cell shows the second run', async () => {
  const { page, context } = await openNotebook(browser, lab, 'reload.ipynb');
  await openPanel(page);
  if (firstJob) {
    // The kernel's jobs from the tests before are listed (in one go) before a new one.
    await rowOf(page, firstJob).waitFor({ state: 'attached', timeout: 30_000 });
  }
  const first = await newJob(page, () => runInBackground(page, 2));
  await waitForState(page, first, 'done');
  const second = await newJob(page, () => runInBackground(page, 2));
  await waitForOutput(page, 2, /run 2 start/);
  // The job ends while the page reloads: the new page lists both runs ended, the first
  // listed first. (It once took the cell, and the second run's outputs never came.)
  writeFileSync(join(lab.root, 'second.gate'), '');
  await page.reload();
  await page.waitForSelector('.jp-Notebook .jp-Cell', { timeout: 60_000 });
  await openPanel(page);
  await waitForState(page, second, 'done');
  await waitForOutput(page, 2, /run 2 end/);
  assert.deepEqual((await outputText(page, 2)).match(/run \d \w+/g), ['run 2 start', 'run 2 end']);
  await context.close();
});

test("a list answer that leaves with the job's next outputs, in one message: no line lost", async () => {
  const { page, context } = await openNotebook(browser, lab, 'reload.ipynb');
  await openPanel(page);
  if (firstJob) {
    await rowOf(page, firstJob).waitFor({ state: 'attached', timeout: 30_000 });
  }
  const jobId = await newJob(page, () => runInBackground(page, 3));
  await waitForOutput(page, 3, /\bg3\b/);
  await page.reload();
  await page.waitForSelector('.jp-Notebook .jp-Cell', { timeout: 60_000 });
  await openPanel(page);
  await waitForState(page, jobId, 'done');
  await waitForOutput(page, 3, /\bg29\b/);
  // Once lost: the outputs right after the list were written before the replay of the
  // lines before them, and that replay was then taken as already in the cell.
  await assertPrinted(page, 3, 'g', lines('g', 30));
  await context.close();
});
