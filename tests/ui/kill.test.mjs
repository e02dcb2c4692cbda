// Journeys 4 and 5: kill from the command and for all jobs; a kill stuck in native code
// stays "cancelling" with its reason; a row jumps to its cell; a traceback can be copied.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cell,
  newJob,
  notebook,
  outputText,
  recordSends,
  rowOf,
  runInBackground,
  sentOf,
  useNotebook,
  waitForState
} from './lab.mjs';

const SPIN = 'import time\nwhile True:\n    time.sleep(0.05)';
const STUCK = 'import select\nselect.select([], [], [], 6)\nprint("select returned")';
const FAILS = 'def broken():\n    raise ValueError("copy me")\n\nbroken()';

const session = useNotebook(
  { 'kill.ipynb': notebook([SPIN, SPIN, STUCK, FAILS, 'print("filler")']) },
  'kill.ipynb'
);

const execute = (page, command, args) =>
  page.evaluate(([c, a]) => window.jupyterapp.commands.execute(c, a), [command, args]);

test('parallel-cell:kill-job kills the job it names', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 0));
  await waitForState(page, jobId, 'running');
  await execute(page, 'parallel-cell:kill-job', { jobId });
  await waitForState(page, jobId, 'killed', 15_000);
  assert.equal(await cell(page, 0).getAttribute('data-parallel-cell-state'), 'killed');
});

test('kill all: every running job goes cancelling, then killed', async () => {
  const { page } = session;
  const first = await newJob(page, () => runInBackground(page, 0));
  const second = await newJob(page, () => runInBackground(page, 1));
  await waitForState(page, first, 'running');
  await waitForState(page, second, 'running');
  // Record every state each row shows from here on.
  await page.evaluate(
    ids => {
      window.__seen = Object.fromEntries(ids.map(id => [id, []]));
      const panel = document.getElementById('parallel-cell-jobs');
      new MutationObserver(() => {
        for (const id of ids) {
          const state = panel.querySelector(`[data-job-id="${id}"]`)?.dataset.jobState;
          const seen = window.__seen[id];
          if (state && seen[seen.length - 1] !== state) {
            seen.push(state);
          }
        }
      }).observe(panel, { subtree: true, attributes: true, childList: true });
    },
    [first, second]
  );
  // And what the page sends: both kills in one comm message (one busy/idle round).
  await recordSends(page, 'kill');
  await execute(page, 'parallel-cell:kill-all');
  await waitForState(page, first, 'killed', 15_000);
  await waitForState(page, second, 'killed', 15_000);
  const seen = await page.evaluate(() => window.__seen);
  for (const id of [first, second]) {
    assert.deepEqual(seen[id], ['cancelling', 'killed'], `${id}: ${seen[id]}`);
  }
  const kills = await sentOf(page);
  assert.deepEqual(
    kills.map(sent => sent.parts.map(part => part?.type)),
    [['kill', 'kill']]
  );
});

test('a kill stuck in native code stays cancelling and says why, then ends killed', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 2));
  await waitForState(page, jobId, 'running');
  await page.waitForTimeout(300); // inside select() by now
  await rowOf(page, jobId).locator('button[aria-label="Kill job"]').click();
  await waitForState(page, jobId, 'cancelling', 5_000);
  const note = rowOf(page, jobId).locator('[data-role="note"]');
  await note.waitFor({ state: 'visible', timeout: 5_000 });
  assert.match((await note.textContent()) ?? '', /select|native|C code|blocked/i);
  assert.equal(await rowOf(page, jobId).getAttribute('data-job-state'), 'cancelling');
  // Honest: killed only once the call returned and the thread ended.
  await waitForState(page, jobId, 'killed', 20_000);
  assert.doesNotMatch(await outputText(page, 2), /select returned/);
});

test('clicking a row shows its cell', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 3));
  await waitForState(page, jobId, 'error');
  await cell(page, 4).locator('.jp-InputPrompt').click();
  await rowOf(page, jobId).locator('[data-action="goto"]').click();
  await page.waitForFunction(
    () => window.jupyterapp.shell.currentWidget.content.activeCellIndex === 3,
    null,
    { timeout: 5_000 }
  );
});

test('a traceback is readable text that copies without colour codes', async () => {
  const { page } = session;
  const ids = await page.evaluate(() =>
    [...document.querySelectorAll('#parallel-cell-jobs [data-job-state="error"]')].map(
      r => r.dataset.jobId
    )
  );
  const row = rowOf(page, ids[ids.length - 1]);
  await row.locator('summary').click();
  const traceback = row.locator('[data-role="traceback"]');
  await traceback.waitFor({ state: 'visible' });
  const copied = await traceback.evaluate(node => {
    const range = document.createRange();
    range.selectNodeContents(node);
    const selection = document.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return selection.toString();
  });
  assert.match(copied, /ValueError: copy me/);
  assert.match(copied, /raise ValueError\("copy me"\)/, 'the cell source line is in it');
  assert.doesNotMatch(copied, /\x1b\[/, 'no ANSI escape codes in the copied text');
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(session.errors, []);
});
