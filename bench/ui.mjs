// P1, P3, P5, P6, P8: figures from the real UI (JupyterLab, ipykernel 7, Chromium), each
// beside its baseline measured in the same run. Prints one JSON line per figure.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { resolve } from 'node:path';
import {
  cell,
  lagOf,
  launchBrowser,
  notebook,
  openNotebook,
  openPanel,
  probeLag,
  startLab
} from '../tests/ui/lab.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const env = (name, fallback) => Number(process.env[name] ?? fallback);
const emit = figure => console.log(JSON.stringify(figure));
const only = (process.env.PC_BENCH_ONLY ?? 'P1,P3,P5,P6,P8').split(',');
const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
};
const median = values => quantile(values, 0.5);

/** Run `body(page)` against a notebook with `sources` in a fresh server. */
/** Wait until the page is quiet: 30 timers in a row, each late by under 8 ms (≤ 20 s). */
async function quiet(page) {
  await page.evaluate(async () => {
    const until = performance.now() + 20000;
    for (let calm = 0; calm < 30 && performance.now() < until;) {
      const due = performance.now() + 16;
      await new Promise(resolve => setTimeout(resolve, 16));
      calm = performance.now() - due < 8 ? calm + 1 : 0;
    }
  });
}

/**
 * Milliseconds of a CPU profile's samples inside code from `url`: inclusive, a sample
 * counts when any frame on its stack is ours (what our code calls in JupyterLab is our
 * cost too).
 */
function ownTime(profile, url) {
  const byId = new Map(profile.nodes.map(n => [n.id, n]));
  const mine = new Set();
  const mark = (node, inside) => {
    const ownFrame = inside || node.callFrame.url.includes(url);
    if (ownFrame) {
      mine.add(node.id);
    }
    for (const child of node.children ?? []) {
      mark(byId.get(child), ownFrame);
    }
  };
  mark(profile.nodes[0], false);
  let micros = 0;
  profile.samples.forEach((id, i) => {
    micros += mine.has(id) ? (profile.timeDeltas[i + 1] ?? 0) : 0;
  });
  return micros / 1000;
}

async function withNotebook(sources, body, options = {}) {
  const lab = await startLab({ 'bench.ipynb': notebook(sources) }, 'lab', options);
  try {
    const { page, context } = await openNotebook(browser, lab, 'bench.ipynb');
    await openPanel(page);
    await cell(page, 0).locator('.jp-InputPrompt').click();
    await body(page);
    await context.close();
  } finally {
    await lab.stop();
  }
}

// In the page: run the command and resolve when a new row reaches `states`.
const COMMAND_TO_ROW = ([states]) =>
  new Promise(resolve => {
    const panel = document.getElementById('parallel-cell-jobs');
    const seen = new Set([...panel.querySelectorAll('[data-job-id]')].map(r => r.dataset.jobId));
    const t0 = performance.now();
    const check = () => {
      for (const row of panel.querySelectorAll('[data-job-id]')) {
        if (!seen.has(row.dataset.jobId) && states.includes(row.dataset.jobState)) {
          observer.disconnect();
          resolve(performance.now() - t0);
          return;
        }
      }
    };
    const observer = new MutationObserver(check);
    observer.observe(panel, { subtree: true, childList: true, attributes: true });
    void window.jupyterapp.commands.execute('parallel-cell:run-in-background');
  });

async function startLatency() {
  const runs = env('PC_BENCH_P1_RUNS', 25);
  await withNotebook(['pass'], async page => {
    // Warm-up: the first job bootstraps the runtime.
    await page.evaluate(COMMAND_TO_ROW, [['running', 'done']]);
    const ours = [];
    const bare = [];
    for (let i = 0; i < runs; i++) {
      ours.push(await page.evaluate(COMMAND_TO_ROW, [['running', 'done']]));
      bare.push(
        await page.evaluate(async () => {
          const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
          const t0 = performance.now();
          await kernel.requestExecute({ code: 'pass', silent: false, store_history: false }).done;
          return performance.now() - t0;
        })
      );
    }
    emit({
      id: 'P1',
      what: `start latency, command → row running (median of ${runs}) vs a bare execute_request of pass`,
      ours: median(ours),
      baseline: median(bare),
      unit: 'ms',
      target: '≤ 1.5×'
    });
  });
}

async function streaming() {
  const megabytes = env('PC_BENCH_P3_MB', 20);
  // 100-byte lines, then a marker line whose arrival in the cell ends the clock. Two
  // cells with the same code but their own marker: one runs in the foreground, one in
  // the background.
  const lines = Math.round((megabytes * 1e6) / 100);
  const code = marker =>
    `for i in range(${lines}):\n    print(f"line {i:010d} " + "x" * 83)\nprint("${marker}")`;
  const timeUntilEnd = async (page, index, command, marker) => {
    await cell(page, index).locator('.jp-InputPrompt').click();
    return page.evaluate(
      async ([i, runCommand, end]) => {
        const longTasks = [];
        const observer = new PerformanceObserver(list => {
          for (const entry of list.getEntries()) {
            longTasks.push(entry.duration);
          }
        });
        observer.observe({ type: 'longtask', buffered: false });
        const area = () =>
          document.querySelectorAll('.jp-Notebook .jp-Cell')[i].querySelector('.jp-OutputArea');
        const t0 = performance.now();
        void window.jupyterapp.commands.execute(runCommand);
        await new Promise(resolve => {
          const poll = () => {
            if (area().textContent.includes(end)) {
              resolve();
            } else {
              setTimeout(poll, 50);
            }
          };
          poll();
        });
        observer.disconnect();
        const ms = performance.now() - t0;
        // Lines that reached the cell's model (a rate limit may have dropped some): those
        // shown, and those a bounded stream's gap marker counts.
        const outputs = window.jupyterapp.shell.currentWidget.content.widgets[i].model.outputs;
        const text = outputs
          .toJSON()
          .map(o => (o.output_type === 'stream' ? [o.text].flat().join('') : ''))
          .join('');
        const gap = text.match(/⋯ ([\d,]+) lines/);
        const hidden = gap ? Number(gap[1].replace(/,/g, '')) : 0;
        const shown = text.split('\n').filter(l => l.startsWith('line ')).length;
        const lines = shown + hidden;
        return {
          ms,
          lines,
          shown,
          longest: Math.max(0, ...longTasks),
          over50: longTasks.filter(d => d > 50).length
        };
      },
      [index, command, marker]
    );
  };
  // jupyter_server drops iopub stream data above 1 MB/s (iopub_data_rate_limit), which
  // would let the foreground "finish" with most lines missing; comm messages are not
  // byte-limited. Both runs here get every line: the limit is raised for the server.
  const serverArgs = ['--ServerApp.iopub_data_rate_limit=1e12'];
  await withNotebook(
    [code('END-FOREGROUND'), code('END-BACKGROUND')],
    async page => {
      // The background runs first, on a fresh page. Run after the foreground's 20 MB, it
      // met their aftermath (a traced run: a major GC of 736 ms inside one of its writes).
      const bg = await timeUntilEnd(page, 1, 'parallel-cell:run-in-background', 'END-BACKGROUND');
      await page.evaluate(() =>
        window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')
      );
      await page.waitForTimeout(500);
      const fg = await timeUntilEnd(page, 0, 'notebook:run-cell', 'END-FOREGROUND');
      // Speed in MB/s: ours over the foreground's, so ≥ 0.8 is the target.
      emit({
        id: 'P3',
        what: `output streaming, ${megabytes} MB in lines until the last line is in the cell (MB/s; ratio = speed relative to the foreground)`,
        ours: megabytes / (bg.ms / 1000),
        baseline: megabytes / (fg.ms / 1000),
        unit: 'MB/s',
        target: '≥ 0.8×',
        higherIsBetter: true,
        notes: `lines that reached the cell: background ${bg.lines} of ${lines} (${bg.shown} shown, the rest counted by the gap marker), foreground ${fg.lines} of ${lines} (iopub data rate limit raised for both)`
      });
      emit({
        id: 'P3',
        what: `longest main-thread task while a job prints ${megabytes} MB in lines into its cell`,
        ours: bg.longest,
        baseline: 50,
        unit: 'ms',
        target: '≤ 50 ms',
        absolute: true,
        notes: `tasks over 50 ms: background ${bg.over50}; the same code in the foreground: ${fg.over50}, longest ${fg.longest.toFixed(0)} ms`
      });
    },
    { args: serverArgs }
  );
}

async function weight() {
  const wasm = readFileSync(resolve(ROOT, 'labextension/src/core/parallel_cell_core_bg.wasm'));
  emit({
    id: 'P5',
    what: 'wasm size, gzip (raw in notes)',
    ours: gzipSync(wasm, { level: 9 }).length / 1024,
    baseline: 100,
    unit: 'KB',
    target: '≤ 100 KB',
    absolute: true,
    notes: `raw ${(wasm.length / 1024).toFixed(1)} KB`
  });
  const loads = env('PC_BENCH_P5_LOADS', 30);
  // Two servers, one with the extension disabled; page loads alternate between them so
  // whatever else the machine does weighs on both alike.
  const files = { 'bench.ipynb': notebook(['pass']) };
  const withLab = await startLab(files, 'lab');
  const withoutLab = await startLab(files, 'lab', { disabled: ['parallel-cell'] });
  // `ours`: also the main thread's time in the extension's code, from CPU profiles: one
  // the page ends at app.restored (the load), one ended once the page is quiet after it
  // (the rest: the core's lazy start).
  const loadTime = async (lab, ours = null) => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const cdp = ours && (await context.newCDPSession(page));
    let load = null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
      load = new Promise(resolve =>
        cdp.on('Profiler.consoleProfileFinished', e => resolve(e.profile))
      );
      await cdp.send('Profiler.start');
    }
    await page.addInitScript(profiled => {
      if (profiled) {
        console.profile('load');
      }
      const wait = () => {
        if (window.jupyterapp) {
          void window.jupyterapp.restored.then(() => {
            window.__pcRestored = performance.now();
            if (profiled) {
              console.profileEnd('load');
            }
          });
        } else {
          setTimeout(wait, 5);
        }
      };
      wait();
    }, !!cdp);
    await page.goto(`${lab.base}/lab/tree/bench.ipynb?token=${lab.token}`);
    await page.waitForFunction(() => window.__pcRestored !== undefined, null, {
      timeout: 60_000
    });
    const t = await page.evaluate(() => window.__pcRestored);
    if (cdp) {
      await quiet(page);
      const { profile } = await cdp.send('Profiler.stop');
      const upToRestored = ownTime(await load, ours);
      ownTimes.push(upToRestored);
      lazyTimes.push(ownTime(profile, ours) - upToRestored);
    }
    await context.close();
    return t;
  };
  const ownTimes = [];
  const lazyTimes = [];
  const withTimes = [];
  const withoutTimes = [];
  try {
    await loadTime(withLab); // warm both servers' caches
    await loadTime(withoutLab);
    // Pairs, each in the other order than the last, so neither side always goes first.
    for (let i = 0; i < loads; i++) {
      if (i % 2 === 0) {
        withTimes.push(await loadTime(withLab));
        withoutTimes.push(await loadTime(withoutLab));
      } else {
        withoutTimes.push(await loadTime(withoutLab));
        withTimes.push(await loadTime(withLab));
      }
    }
    for (let i = 0; i < env('PC_BENCH_P5_PROFILED', 10); i++) {
      await loadTime(withLab, '/lab/extensions/parallel-cell/');
    }
  } finally {
    await withLab.stop();
    await withoutLab.stop();
  }
  emit({
    id: 'P5',
    what: `main-thread time in the extension's code, and what it calls, while JupyterLab loads, up to app.restored (CPU profile, sampled every 0.1 ms; median of ${ownTimes.length} loads)`,
    ours: median(ownTimes),
    baseline: 30,
    unit: 'ms',
    target: '≤ 30 ms',
    absolute: true,
    notes: `loads ${quantile(ownTimes, 0).toFixed(1)}–${quantile(ownTimes, 1).toFixed(1)} ms; after app.restored, until the page is quiet, the core's lazy start (its chunk, the wasm, the notebook's kernel) took ${median(lazyTimes).toFixed(1)} ms more (${quantile(lazyTimes, 0).toFixed(1)}–${quantile(lazyTimes, 1).toFixed(1)}); the load-time difference carries the whole page's noise`
  });
  const diffs = withTimes.map((t, i) => t - withoutTimes[i]);
  emit({
    id: 'P5',
    what: `JupyterLab load time to app.restored, with vs without the extension: the median of ${loads} alternating pairs' differences (ours, baseline: the medians of each side)`,
    ours: median(withTimes),
    baseline: median(withoutTimes),
    extra: median(diffs),
    unit: 'ms',
    target: '≤ +30 ms',
    additive: 30,
    notes: `difference per pair: middle half ${quantile(diffs, 0.25).toFixed(0)} to ${quantile(diffs, 0.75).toFixed(0)} ms; loads with ${quantile(withTimes, 0.25).toFixed(0)}–${quantile(withTimes, 0.75).toFixed(0)} ms, without ${quantile(withoutTimes, 0.25).toFixed(0)}–${quantile(withoutTimes, 0.75).toFixed(0)} ms (middle half)`
  });
}

// In the page: run every selected cell, side by side in the background (`ours`), or
// JupyterLab's Run All in the foreground (`run-all`); resolve when all have ended.
const RUN_CELLS = async mode => {
  const panel = document.getElementById('parallel-cell-jobs');
  const notebook = window.jupyterapp.shell.currentWidget.content;
  const t0 = performance.now();
  let ended;
  if (mode === 'ours') {
    await window.jupyterapp.commands.execute('parallel-cell:run-side-by-side');
    if (panel.querySelectorAll('[data-job-id]').length === 0) {
      throw new Error('no job started');
    }
    // No job is live: the header summary lists only queued, running and cancelling jobs
    // (the list itself draws only the first rows).
    ended = () => (panel.querySelector('.pc-summary')?.textContent ?? '').trim() === '';
  } else {
    const last = notebook.widgets[notebook.widgets.length - 1].model;
    last.executionCount = null;
    void window.jupyterapp.commands.execute('notebook:run-all-cells');
    ended = () => last.executionCount !== null;
  }
  const submitted = performance.now() - t0;
  await new Promise(resolve => {
    const poll = () => (ended() ? resolve() : setTimeout(poll, 20));
    poll();
  });
  return { elapsed: performance.now() - t0, submitted };
};

/** `RUN_CELLS` in the page, with how late a 16 ms timer fired meanwhile (input latency). */
async function runCellsProbed(page, mode) {
  await probeLag(page, 16);
  const run = await page.evaluate(RUN_CELLS, mode);
  return { ...run, ...(await lagOf(page)) };
}

async function throughput() {
  const jobs = env('PC_BENCH_P6_JOBS', 1000);
  // A notebook of `jobs` cells, all selected, run side by side: one command, as a person
  // would start them.
  await withNotebook(
    Array(jobs).fill('pass'),
    async page => {
      // Selecting 1,000 cells, and drawing them (JupyterLab draws a long notebook's cells
      // in idle time), are JupyterLab's work, not ours: done before the clock starts.
      await page.evaluate(() => window.jupyterapp.commands.execute('notebook:select-all'));
      await page.waitForFunction(
        () => window.jupyterapp.shell.currentWidget.content.widgets.every(c => !c.isPlaceholder()),
        null,
        { timeout: 120_000, polling: 500 }
      );
      await quiet(page);
      const result = await runCellsProbed(page, 'ours');
      // The baseline on the same page and kernel: JupyterLab's own Run All of these cells
      // (in the foreground, one after another).
      await quiet(page);
      const runAll = await runCellsProbed(page, 'run-all');
      emit({
        id: 'P6',
        what: `throughput, ${jobs} selected cells run side by side from the UI, cap 8 (jobs/s)`,
        ours: jobs / (result.elapsed / 1000),
        baseline: 200,
        unit: 'jobs/s',
        target: '≥ 200 jobs/s',
        absolute: true,
        higherIsBetter: true,
        notes: `page input latency meanwhile (timer lag): p95 ${result.p95.toFixed(1)} ms, max ${result.max.toFixed(1)} ms; all submitted after ${result.submitted.toFixed(0)} ms. JupyterLab's Run All of the same cells on the same page: ${(jobs / (runAll.elapsed / 1000)).toFixed(0)} cells/s, timer lag p95 ${runAll.p95.toFixed(0)} ms, max ${runAll.max.toFixed(0)} ms`
      });
      // The page stays interactive meanwhile: a line of its own, so the table's verdict
      // holds it too (#20: 200 jobs/s *with* a timer lag p95 ≤ 50 ms).
      emit({
        id: 'P6',
        what: `page input latency (timer lag p95) while those ${jobs} jobs run — max ${result.max.toFixed(1)} ms; JupyterLab's Run All of the same cells: p95 ${runAll.p95.toFixed(0)} ms`,
        ours: result.p95,
        baseline: 50,
        unit: 'ms',
        target: '≤ 50 ms',
        absolute: true
      });
    },
    { settings: { 'parallel-cell:plugin': { concurrency: 8 } } }
  );
}

/**
 * Key press → character painted in a cell's editor, for `keys` presses: from the
 * keydown event's time stamp to the task after the first frame that shows the character.
 */
async function typingLatency(page, index, keys) {
  await cell(page, index).locator('.cm-content').click();
  await page.evaluate(() => {
    window.__pcLatency = [];
    const content = document.activeElement;
    window.__pcKeydown = event => {
      const before = content.textContent.length;
      const frame = () =>
        requestAnimationFrame(() => {
          if (content.textContent.length > before) {
            setTimeout(() => window.__pcLatency.push(performance.now() - event.timeStamp), 0);
          } else {
            frame();
          }
        });
      frame();
    };
    document.addEventListener('keydown', window.__pcKeydown, true);
  });
  for (let i = 0; i < keys; i++) {
    await page.keyboard.press('a');
    await page.waitForTimeout(40 + ((i * 37) % 50)); // a typist's uneven rhythm
  }
  await page.waitForTimeout(500);
  return page.evaluate(() => {
    document.removeEventListener('keydown', window.__pcKeydown, true);
    return window.__pcLatency;
  });
}

async function inputLatency() {
  const keys = env('PC_BENCH_P8_KEYS', 80);
  const jobs = 8;
  // Each job prints a 70-character line about every 2 ms until killed.
  const printer =
    "import time\nfor i in range(10**7):\n    print(f'job line {i:08d} ' + 'z' * 52)\n    time.sleep(0.002)";
  await withNotebook(
    ['', ...Array(jobs).fill(printer)],
    async page => {
      const idle = await typingLatency(page, 0, keys);
      for (let i = 1; i <= jobs; i++) {
        await cell(page, i).locator('.jp-InputPrompt').click();
        await page.evaluate(() =>
          window.jupyterapp.commands.execute('parallel-cell:run-in-background')
        );
      }
      await page.waitForFunction(
        n =>
          document.querySelectorAll('#parallel-cell-jobs [data-job-state="running"]').length === n,
        jobs,
        { timeout: 60_000 }
      );
      await page.waitForTimeout(3000); // the cells fill past their stream limit
      const busy = await typingLatency(page, 0, keys);
      await page.evaluate(() => window.jupyterapp.commands.execute('parallel-cell:kill-all'));
      emit({
        id: 'P8',
        what: `input latency, key press → character painted (p95 of ${keys} keys) while ${jobs} jobs print ~500 lines/s each, vs the same page with no jobs`,
        ours: quantile(busy, 0.95),
        baseline: quantile(idle, 0.95),
        unit: 'ms',
        target: '≤ 50 ms',
        budget: 50,
        notes: `with jobs: median ${median(busy).toFixed(1)} ms, max ${Math.max(...busy).toFixed(1)} ms, ${busy.length} of ${keys} keys measured; no jobs: median ${median(idle).toFixed(1)} ms, p95 ${quantile(idle, 0.95).toFixed(1)} ms`
      });
    },
    { settings: { 'parallel-cell:plugin': { concurrency: jobs } } }
  );
}

const browser = await launchBrowser();
try {
  if (only.includes('P1')) {
    await startLatency();
  }
  if (only.includes('P3')) {
    await streaming();
  }
  if (only.includes('P5')) {
    await weight();
  }
  if (only.includes('P6')) {
    await throughput();
  }
  if (only.includes('P8')) {
    await inputLatency();
  }
} finally {
  await browser.close();
}
