// Not a test: takes docs/screenshot.png of the demo notebook with jobs in the panel,
// to look at the UI as a person would (`node tests/ui/screenshot.mjs`).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  launchBrowser,
  newJob,
  openNotebook,
  openPanel,
  runInBackground,
  runInForeground,
  runOnCluster,
  startLab,
  waitForState
} from './lab.mjs';

const ROOT = resolve(import.meta.dirname, '..', '..');
const demo = readFileSync(resolve(ROOT, 'examples', 'demo.ipynb'), 'utf8');
const lab = await startLab({ 'demo.ipynb': demo });
const browser = await launchBrowser();
try {
  const { page } = await openNotebook(browser, lab, 'demo.ipynb');
  page.on('console', m => console.log('console:', m.type(), m.text()));
  await openPanel(page);
  const at = start => JSON.parse(demo).cells.findIndex(c => c.source.startsWith(start));
  await runInForeground(page, at('import http.server'));
  await page.waitForTimeout(1000);
  const fetch = await newJob(page, () => runInBackground(page, at('import urllib.request')));
  await waitForState(page, fetch, 'running');
  const fail = await newJob(page, () => runInBackground(page, at('def parse_price')));
  await waitForState(page, fail, 'error');
  const spin = await newJob(page, () => runInBackground(page, at('spins = 0')));
  await waitForState(page, spin, 'running');
  const crunch = await newJob(page, () => runOnCluster(page, at('import time\n\n\ndef collatz')));
  await waitForState(page, crunch, 'running', 60_000);
  await runInForeground(page, at('import re'));
  await page
    .locator('.jp-Notebook .jp-Cell')
    .nth(at('import urllib.request'))
    .scrollIntoViewIfNeeded();
  await page.waitForTimeout(2500);
  const out = process.argv[2] ?? resolve(ROOT, 'docs', 'screenshot.png');
  await page.screenshot({ path: out });
  console.log('wrote', out);
} finally {
  await browser.close();
  await lab.stop();
}
