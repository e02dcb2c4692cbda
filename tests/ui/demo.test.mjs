// The demo notebook that `make lab` opens, walked through as a new user would.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import {
  cell,
  jobIds,
  newJob,
  outputText,
  rowOf,
  runInBackground,
  runInForeground,
  runOnCluster,
  useNotebook,
  waitForOutput,
  waitForState
} from './lab.mjs';

const ROOT = resolve(import.meta.dirname, '..', '..');
const DEMO = readFileSync(resolve(ROOT, 'examples', 'demo.ipynb'), 'utf8');
const cells = JSON.parse(DEMO).cells;
const at = start => {
  const i = cells.findIndex(c => c.source.startsWith(start));
  assert.ok(i >= 0, `demo cell starting with ${start}`);
  return i;
};

const session = useNotebook({ 'demo.ipynb': DEMO }, 'demo.ipynb');

test('demo: fetch in the background while parsing in the foreground', async () => {
  const { page } = session;
  const server = at('import http.server');
  await cell(page, server).scrollIntoViewIfNeeded();
  await runInForeground(page, server);
  await waitForOutput(page, server, /serving 60 pages/);

  const fetchCell = at('import urllib.request');
  const fetchJob = await newJob(page, () => runInBackground(page, fetchCell));
  await waitForState(page, fetchJob, 'running');
  await waitForOutput(page, fetchCell, /fetched \d+\/60/);

  const parse = at('import re');
  await runInForeground(page, parse);
  await waitForOutput(page, parse, /pages so far/);
  const soFar = Number((await outputText(page, parse)).match(/(\d+) pages so far/)[1]);
  assert.ok(soFar < 60, `parsing ran while the fetch went on (${soFar} pages so far)`);
  assert.equal(await rowOf(page, fetchJob).getAttribute('data-job-state'), 'running');

  await waitForState(page, fetchJob, 'done', 60_000);
  assert.match(await outputText(page, fetchCell), /fetched 60\/60\s+all fetched/);
  const titles = at('titles = ');
  await runInForeground(page, titles);
  await waitForOutput(page, titles, /\(60, 'Page 60'\)/);
});

test('demo: parallel_cell.map and %job show their jobs in the panel', async () => {
  const { page } = session;
  const before = new Set(await jobIds(page));
  const mapCell = at('import parallel_cell');
  await runInForeground(page, mapCell);
  await waitForOutput(page, mapCell, /\[\d+, \d+, \d+/);
  const jobCell = at('%job');
  await runInForeground(page, jobCell);
  await waitForOutput(page, jobCell, /started job \d+/);
  // 8 map workers and the %job: all announced by the kernel, all listed.
  await page.waitForFunction(
    n => document.querySelectorAll('#parallel-cell-jobs [data-job-id]').length >= n,
    before.size + 9,
    { timeout: 15_000 }
  );
  const fresh = (await jobIds(page)).filter(id => !before.has(id));
  for (const id of fresh) {
    await waitForState(page, id, 'done');
  }
  const status = at('jobs = %jobs');
  await runInForeground(page, status);
  await waitForOutput(page, status, /done/);
});

test('demo: an error and a kill', async () => {
  const { page } = session;
  const failing = at('def parse_price');
  const failJob = await newJob(page, () => runInBackground(page, failing));
  await waitForState(page, failJob, 'error');
  assert.match(await outputText(page, failing), /ValueError/);
  const spin = at('spins = 0');
  const spinJob = await newJob(page, () => runInBackground(page, spin));
  await waitForState(page, spinJob, 'running');
  await rowOf(page, spinJob).locator('button[aria-label="Kill job"]').click();
  await waitForState(page, spinJob, 'killed');
  assert.deepEqual(session.errors, []);
});

test('demo: Run on Cluster crunches numbers on a worker and brings the result back', async () => {
  const { page } = session;
  const crunch = at('import time\n\n\ndef collatz_steps');
  const job = await newJob(page, () => runOnCluster(page, crunch));
  await waitForState(page, job, 'done', 120_000);
  assert.match(await outputText(page, crunch), /longest chain below 300,000 starts at 230631/);
  assert.match(
    (await rowOf(page, job).locator('[data-role="where"]').textContent()) ?? '',
    /Dask · tcp:/
  );
  assert.deepEqual(session.errors, []);
});
