// Load (issue 7): many concurrent jobs, each printing numbered lines. Every line reaches
// its own cell exactly once, in order; the page stays responsive; memory stays bounded.
// `make test` runs a small load; `make soak` runs 200 jobs × 10,000 lines
// (PC_LOAD_JOBS, PC_LOAD_LINES).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  lagOf,
  notebook,
  outputText,
  probeLag,
  runInForeground,
  useNotebook,
  waitForOutput
} from './lab.mjs';

const JOBS = Number(process.env.PC_LOAD_JOBS ?? 20);
const LINES = Number(process.env.PC_LOAD_LINES ?? 1000);

const job = j => `for i in range(${LINES}):\n    print(f"${j}:{i}")`;
const RSS = 'print("rss", [l for l in open("/proc/self/status") if l.startswith("VmRSS")][0])';

const session = useNotebook(
  { 'load.ipynb': notebook([RSS, ...Array.from({ length: JOBS }, (_, j) => job(j))]) },
  'load.ipynb',
  { settings: { 'parallel-cell:plugin': { concurrency: Math.min(256, JOBS) } } }
);

async function kernelRss(page) {
  await runInForeground(page, 0);
  await waitForOutput(page, 0, /rss VmRSS/);
  const text = await outputText(page, 0);
  return Number(text.match(/VmRSS:\s+(\d+)/)[1]) / 1024; // MB
}

test(`${JOBS} jobs × ${LINES} lines: every line in its own cell once, in order`, async () => {
  const { page } = session;
  const rssBefore = await kernelRss(page);
  const heapBefore = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? 0);
  const t0 = Date.now();
  await probeLag(page, 50);
  await page.evaluate(
    async ([jobs]) => {
      const { shell, commands } = window.jupyterapp;
      const notebook = shell.currentWidget.content;
      // Select the job cells (1..jobs) and start them all at once.
      notebook.activeCellIndex = 1;
      notebook.deselectAll();
      notebook.extendContiguousSelectionTo(jobs);
      await commands.execute('parallel-cell:run-in-background');
      const panel = document.getElementById('parallel-cell-jobs');
      await new Promise(resolve => {
        const poll = () =>
          (panel.querySelector('.pc-summary')?.textContent ?? '').trim() === ''
            ? resolve()
            : setTimeout(poll, 100);
        setTimeout(poll, 500);
      });
    },
    [JOBS]
  );
  const figures = await lagOf(page);
  const seconds = (Date.now() - t0) / 1000;
  // Let the coalesced writes land, then read every cell's model.
  await page.waitForTimeout(1500);
  const report = await page.evaluate(
    ([jobs, lines]) => {
      const cells = window.jupyterapp.shell.currentWidget.content.widgets;
      const result = { lost: 0, duplicated: 0, misordered: 0, misrouted: 0, markers: 0 };
      for (let j = 0; j < jobs; j++) {
        const outputs = cells[j + 1].model.outputs.toJSON();
        const text = outputs
          .filter(o => o.output_type === 'stream' && o.name === 'stdout')
          .map(o => (Array.isArray(o.text) ? o.text.join('') : o.text))
          .join('');
        result.markers += outputs.filter(
          o => o.output_type === 'stream' && /dropped from the kernel/.test(o.text)
        ).length;
        const seen = new Set();
        let last = -1;
        for (const line of text.split('\n')) {
          if (!line) {
            continue;
          }
          const [who, n] = line.split(':').map(Number);
          if (who !== j) {
            result.misrouted++;
            continue;
          }
          if (seen.has(n)) {
            result.duplicated++;
          } else if (n < last) {
            result.misordered++;
          }
          seen.add(n);
          last = Math.max(last, n);
        }
        result.lost += lines - seen.size;
      }
      return result;
    },
    [JOBS, LINES]
  );
  const heapAfter = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? 0);
  const rssAfter = await kernelRss(page);
  const mb = (JOBS * LINES * (String(JOBS).length + String(LINES).length + 2)) / 1e6;
  console.log(
    `# load: ${JOBS} jobs × ${LINES} lines (${mb.toFixed(1)} MB) in ${seconds.toFixed(1)} s; ` +
      `lines lost ${report.lost}, duplicated ${report.duplicated}, misordered ${report.misordered}, ` +
      `misrouted ${report.misrouted}; truncation markers ${report.markers}; ` +
      `page timer lag p95 ${figures.p95.toFixed(0)} ms, max ${figures.max.toFixed(0)} ms; ` +
      `page heap ${(heapBefore / 1e6).toFixed(0)} → ${(heapAfter / 1e6).toFixed(0)} MB; ` +
      `kernel RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB`
  );
  assert.deepEqual(report, { lost: 0, duplicated: 0, misordered: 0, misrouted: 0, markers: 0 });
  // Bounded: the kernel keeps at most its replay logs (limits per job), not the output.
  assert.ok(rssAfter - rssBefore < 50 + 4 * JOBS, `kernel grew ${rssAfter - rssBefore} MB`);
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(session.errors, []);
});
