// Safety rails for a shared namespace (issue 17): a cell that rebinds a name a running
// job uses is told at once, the row is marked, and the cell runs as usual; in-place
// changes and IPython's own names are never flagged; a second job assigning a name the
// first uses is told when it starts.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  killJob,
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

const SETUP = "acc_pages = {}\nmodel = None\nprint('set up')";
const READER =
  'import time\nfor k in range(600):\n    n = len(acc_pages) + len(Out) + (0 if _ is None else 0)\n    time.sleep(0.05)';
const MUTATE = "acc_pages['k'] = 1\nacc_pages.update(more=2)\nprint('mutated', len(acc_pages))";
const OWN_NAMES = "_ = 1\n_i = ''\nOut = Out\nprint('own names')";
// Waits for the test's gate file: until the test writes it, the cell is still running.
const REBIND =
  "acc_pages = {}\nwhile not __import__('os').path.exists('rebind.gate'):\n    __import__('time').sleep(0.02)\nprint('rebound')";
const TRAINER = "import time\nmodel = 'first'\nfor k in range(600):\n    time.sleep(0.05)";
const SECOND = "model = 'second'\nprint('second job ran')";

const session = useNotebook(
  {
    'conflicts.ipynb': notebook([SETUP, READER, MUTATE, OWN_NAMES, REBIND, TRAINER, SECOND])
  },
  'conflicts.ipynb'
);

const warning = (page, text) => page.locator('.Toastify__toast', { hasText: text });

test('a foreground rebind of a name a running job reads is told, in-place changes are not', async () => {
  const { page } = session;
  await runInForeground(page, 0);
  await waitForOutput(page, 0, /set up/);
  const reader = await newJob(page, () => runInBackground(page, 1));
  await waitForState(page, reader, 'running');

  // Not rebinds: a subscript assignment, a method call, and IPython's own names.
  await runInForeground(page, 2);
  await waitForOutput(page, 2, /mutated 2/);
  await runInForeground(page, 3);
  await waitForOutput(page, 3, /own names/);
  await page.waitForTimeout(1_000);
  assert.equal(await warning(page, 'rebinds').count(), 0, 'no warning for in-place changes');
  assert.equal(await rowOf(page, reader).locator('[data-role="conflict"]').count(), 0);

  // A rebind: told while the cell still runs, the row marked, the cell run as usual.
  const started = Date.now();
  await runInForeground(page, 4);
  const toast = warning(page, 'acc_pages').first();
  await toast.waitFor({ state: 'visible', timeout: 20_000 });
  const seconds = (Date.now() - started) / 1000;
  console.log(`conflict warning shown ${seconds.toFixed(2)} s after the cell was run`);
  assert.doesNotMatch(await outputText(page, 4), /rebound/, 'told before the cell ended');
  writeFileSync(join(session.lab.root, 'rebind.gate'), '');
  assert.match(
    await toast.innerText(),
    /A cell rebinds acc_pages, which background job \d+ \(import time\) uses\./
  );
  await waitForOutput(page, 4, /rebound/);
  assert.match(await outputText(page, 4), /rebound/);
  const line = rowOf(page, reader).locator('[data-role="conflict"]');
  assert.match(await line.innerText(), /acc_pages/);
  assert.doesNotMatch(await line.innerText(), /\bOut\b|\b_\b/);

  // "Go to job" shows the row.
  await toast.getByRole('button', { name: 'Go to job' }).click();
  await page.locator(`#parallel-cell-jobs [data-job-id="${reader}"].pc-job-shown`).waitFor();
  assert.equal(await rowOf(page, reader).getAttribute('data-job-state'), 'running');
  await killJob(page, reader);
});

test('a second job assigning a name the first uses is told when it starts', async () => {
  const { page } = session;
  const trainer = await newJob(page, () => runInBackground(page, 5));
  await waitForState(page, trainer, 'running');
  const second = await newJob(page, () => runInBackground(page, 6));
  await waitForState(page, second, 'done');
  const toast = warning(page, 'rebinds model').first();
  await toast.waitFor({ state: 'visible', timeout: 5_000 });
  assert.match(
    await toast.innerText(),
    /Background job \d+ \(model = .second.\) rebinds model, which job \d+ \(import time\) uses\./
  );
  for (const job of [trainer, second]) {
    assert.match(await rowOf(page, job).locator('[data-role="conflict"]').innerText(), /model/);
  }
  await waitForOutput(page, 6, /second job ran/);
  await killJob(page, trainer);
});
