// A real JupyterLab server (from .venv, with the extension installed by `make build`)
// and a real Chromium driven by playwright-core, for the UI tests.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as testHooks from 'node:test';
import { chromium } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '..', '..');

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** Write a notebook with one code cell per source string. */
export function notebook(sources, kernel = 'python3') {
  return {
    cells: sources.map((source, i) => ({
      cell_type: 'code',
      id: `cell-${i}`,
      metadata: {},
      source,
      outputs: [],
      execution_count: null
    })),
    metadata: {
      kernelspec: { display_name: kernel, language: 'python', name: kernel },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  };
}

/** Start `jupyter lab` (or `jupyter notebook`, Notebook 7) on a free loopback port in a
 * fresh temporary root; from the project's `.venv` (or `$PC_VENV`), or another venv
 * (`.venv-rtc`; a path relative to the project, or absolute). */
export async function startLab(
  files = {},
  app = 'lab',
  { disabled = [], settings = {}, args: extraArgs = [], venv = process.env.PC_VENV ?? '.venv' } = {}
) {
  const dir = mkdtempSync(join(tmpdir(), 'pc-ui-'));
  const root = join(dir, 'root');
  const config = join(dir, 'config');
  mkdirSync(root);
  mkdirSync(join(config, 'labconfig'), { recursive: true });
  // The news poll toast would cover the notebook.
  writeFileSync(
    join(config, 'labconfig', 'page_config.json'),
    JSON.stringify({
      disabledExtensions: Object.fromEntries(
        [
          ...(app === 'lab' ? ['@jupyterlab/apputils-extension:announcements'] : []),
          ...disabled
        ].map(name => [name, true])
      )
    })
  );
  // User settings, e.g. { 'parallel-cell:plugin': { concurrency: 8 } }.
  for (const [plugin, values] of Object.entries(settings)) {
    const [pkg, name] = plugin.split(':');
    const folder = join(dir, 'settings', pkg);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `${name}.jupyterlab-settings`), JSON.stringify(values));
  }
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(
      join(root, name),
      typeof content === 'string' ? content : JSON.stringify(content)
    );
  }
  // A kernel on ipykernel 6 (.venv-ipk6, made by scripts/setup.sh test), for the
  // journeys whose behaviour differs between ipykernel majors.
  const ipk6 = join(ROOT, '.venv-ipk6', 'bin', 'python');
  const kernels = join(dir, 'jupyter-path', 'kernels', 'python3-ipk6');
  mkdirSync(kernels, { recursive: true });
  writeFileSync(
    join(kernels, 'kernel.json'),
    JSON.stringify({
      argv: [ipk6, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
      display_name: 'Python 3 (ipykernel 6)',
      language: 'python'
    })
  );
  // A real kernel that is not IPython (tests/ui/kernels/echo_kernel.py).
  const echo = join(dir, 'jupyter-path', 'kernels', 'echo');
  mkdirSync(echo, { recursive: true });
  writeFileSync(
    join(echo, 'kernel.json'),
    JSON.stringify({
      argv: [
        join(ROOT, '.venv', 'bin', 'python'),
        join(ROOT, 'tests', 'ui', 'kernels', 'echo_kernel.py'),
        '-f',
        '{connection_file}'
      ],
      display_name: 'Echo (not IPython)',
      language: 'text'
    })
  );
  const port = await freePort();
  const token = 'parallel-cell-ui-test';
  const appClass = app === 'lab' ? 'LabApp' : 'JupyterNotebookApp';
  const args = [
    app,
    '--no-browser',
    '--ip=127.0.0.1',
    `--port=${port}`,
    '--ServerApp.port_retries=0',
    `--ServerApp.root_dir=${root}`,
    `--IdentityProvider.token=${token}`,
    `--${appClass}.expose_app_in_browser=True`,
    `--${appClass}.workspaces_dir=${join(dir, 'ws')}`,
    `--${appClass}.user_settings_dir=${join(dir, 'settings')}`,
    // Notebook 7's pages read settings through JupyterLab's server extension, when both
    // are installed: it takes the folder from LabApp.
    ...(app === 'lab' ? [] : [`--LabApp.user_settings_dir=${join(dir, 'settings')}`]),
    '--allow-root',
    ...extraArgs
  ];
  const base = `http://127.0.0.1:${port}`;
  let proc = null;
  let log = '';
  const launch = async () => {
    proc = spawn(resolve(ROOT, venv, 'bin', 'jupyter'), args, {
      // Files a server writes where it runs (jupyter-collaboration's store) stay in the
      // test's temporary folder.
      cwd: dir,
      env: {
        ...process.env,
        JUPYTER_CONFIG_DIR: config,
        JUPYTER_PATH: [join(dir, 'jupyter-path'), process.env.JUPYTER_PATH]
          .filter(Boolean)
          .join(':')
      },
      stdio: ['ignore', 'pipe', 'pipe']
    });
    proc.stdout.on('data', d => (log += d));
    proc.stderr.on('data', d => (log += d));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null) {
        throw new Error(`jupyter ${app} exited (${proc.exitCode}):\n${log}`);
      }
      try {
        const res = await fetch(`${base}/api/status?token=${token}`);
        if (res.ok) {
          return;
        }
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`jupyter ${app} did not start in 60 s:\n${log}`);
      }
      await new Promise(r => setTimeout(r, 250));
    }
  };
  const stop = async () => {
    // Shut kernels down through the API so no kernel outlives the test.
    try {
      await fetch(`${base}/api/shutdown?token=${token}`, { method: 'POST' });
    } catch {
      // already gone
    }
    await new Promise(r => {
      if (proc.exitCode !== null) {
        r();
        return;
      }
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        r();
      }, 10_000);
      proc.once('exit', () => {
        clearTimeout(timer);
        r();
      });
    });
  };
  await launch();
  return {
    base,
    token,
    root,
    log: () => log,
    stop,
    /** Stop the server (its kernels with it) and start it again on the same port. */
    async restart() {
      await stop();
      await launch();
    }
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic'
    ]
  });
}

/** Open a notebook and wait until its kernel is idle and the extension is active (with
 * `extension: false`, for a page where it is disabled, only the kernel). */
export async function openNotebook(
  browser,
  lab,
  name,
  urlPath = 'lab/tree',
  { extension = true, prepare = null } = {}
) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await prepare?.(context); // e.g. routes, which apply only to pages loaded after them
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(e.stack ?? String(e)));
  await page.goto(`${lab.base}/${urlPath}/${name}?token=${lab.token}`);
  await page.waitForSelector('.jp-Notebook .jp-Cell', { timeout: 60_000 });
  await page.waitForFunction(
    () => {
      const w = window.jupyterapp?.shell.currentWidget;
      return w?.sessionContext?.session?.kernel?.status === 'idle';
    },
    null,
    { timeout: 60_000 }
  );
  if (extension) {
    await page.waitForFunction(
      () => window.jupyterapp.commands.hasCommand('parallel-cell:run-in-background'),
      null,
      { timeout: 30_000 }
    );
  }
  return { page, context, errors };
}

/** The cells of the notebook in view (a hidden tab's notebook stays in the DOM). */
export const CELLS = '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell';

export const cell = (page, i) => page.locator(CELLS).nth(i);

/** Right-click a cell and choose "Run in Background" from its context menu. */
export function runInBackground(page, i) {
  return runFromMenu(page, i, 'parallel-cell:run-in-background');
}

/** Right-click a cell and choose "Run on Cluster" from its context menu. */
export function runOnCluster(page, i) {
  return runFromMenu(page, i, 'parallel-cell:run-on-cluster');
}

async function runFromMenu(page, i, command) {
  await cell(page, i).locator('.jp-InputPrompt').click();
  await cell(page, i).locator('.jp-InputPrompt').click({ button: 'right' });
  const item = page.locator(`.lm-Menu-item[data-command="${command}"]`);
  await item.waitFor({ state: 'visible' });
  await item.click();
}

/** Run a cell in the foreground with Shift+Enter. */
export async function runInForeground(page, i) {
  await cell(page, i).locator('.jp-InputPrompt').click();
  await page.keyboard.press('Shift+Enter');
}

/** Bring notebook `path` to the front (opening it if needed) with its kernel idle. */
export async function showNotebook(page, path) {
  // The command's result (the widget) stays in the page: JupyterLab 4.0's cannot be
  // serialized back.
  await page.evaluate(async p => {
    await window.jupyterapp.commands.execute('docmanager:open', { path: p });
  }, path);
  await page.waitForFunction(
    p => {
      const w = window.jupyterapp.shell.currentWidget;
      return w?.context?.path === p && w.sessionContext?.session?.kernel?.status === 'idle';
    },
    path,
    { timeout: 60_000 }
  );
}

export async function openPanel(page) {
  await page.evaluate(() => window.jupyterapp.commands.execute('parallel-cell:open-panel'));
  await page.locator('#parallel-cell-jobs').waitFor({ state: 'visible' });
}

/** The panel row of the job started from cell `i` (the latest one). */
export function rowOf(page, jobId) {
  return page.locator(`#parallel-cell-jobs [data-job-id="${jobId}"]`);
}

/** Ids of every job row in the panel. */
export function jobIds(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('#parallel-cell-jobs [data-job-id]')].map(r =>
      r.getAttribute('data-job-id')
    )
  );
}

/** Run `action` and return the id of the one job row it added to the panel. */
export async function newJob(page, action) {
  const before = new Set(await jobIds(page));
  await action();
  const deadline = Date.now() + 30_000;
  for (;;) {
    const fresh = (await jobIds(page)).filter(id => !before.has(id));
    if (fresh.length === 1) {
      return fresh[0];
    }
    if (fresh.length > 1) {
      throw new Error(`expected one new job row, got ${fresh.length}`);
    }
    if (Date.now() > deadline) {
      throw new Error('no new job row appeared in the panel within 30 s');
    }
    await new Promise(r => setTimeout(r, 50));
  }
}

/**
 * Select cells `first`..`last`, run `command` on them (by default press the shortcut of
 * Run in Background), and return the new jobs' ids.
 */
export async function runRange(page, first, last, command = null) {
  await cell(page, first).locator('.jp-InputPrompt').click();
  await cell(page, last)
    .locator('.jp-InputPrompt')
    .click({ modifiers: ['Shift'] });
  const before = new Set(await jobIds(page));
  if (command) {
    await page.evaluate(c => window.jupyterapp.commands.execute(c), command);
  } else {
    await page.keyboard.press('Control+Shift+Enter');
  }
  await page.waitForFunction(
    n => document.querySelectorAll('#parallel-cell-jobs [data-job-id]').length === n,
    before.size + last - first + 1
  );
  return (await jobIds(page)).filter(id => !before.has(id));
}

/**
 * Start timing, over and over, how late a timer of `ms` fires in the page (its input
 * latency while it works); `lagOf(page)` stops and returns the p95 and the max (ms).
 */
export const probeLag = (page, ms) =>
  page.evaluate(interval => {
    const state = { lags: [], stop: false };
    window.__pcLag = state;
    const probe = () => {
      const due = performance.now() + interval;
      setTimeout(() => {
        state.lags.push(performance.now() - due);
        if (!state.stop) {
          probe();
        }
      }, interval);
    };
    probe();
  }, ms);

export const lagOf = page =>
  page.evaluate(() => {
    const state = window.__pcLag;
    state.stop = true;
    const lags = [...state.lags].sort((a, b) => a - b);
    return { p95: lags[Math.floor(lags.length * 0.95)] ?? 0, max: lags[lags.length - 1] ?? 0 };
  });

/**
 * Record, from now on, the comm messages the page sends to the current notebook's kernel
 * that carry a protocol message of `type`; `sentOf(page)` returns them, each with `at`
 * (the page's `performance.now()`) and `parts` (the protocol messages it carried).
 */
export const recordSends = (page, type) =>
  page.evaluate(t => {
    window.__pcSends = [];
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    kernel.anyMessage.connect((_, { msg, direction }) => {
      const data = msg.content?.data;
      const parts = Array.isArray(data) ? data : [data];
      if (direction === 'send' && parts.some(part => part?.type === t)) {
        window.__pcSends.push({ at: performance.now(), parts });
      }
    });
  }, type);

export const sentOf = page => page.evaluate(() => window.__pcSends);

/** Select cells `first`..`last`, press the shortcut, and return the new jobs' ids. */
export const runRangeInBackground = (page, first, last) => runRange(page, first, last);

/** The same, side by side (`parallel-cell:run-side-by-side`). */
export const runSideBySide = (page, first, last) =>
  runRange(page, first, last, 'parallel-cell:run-side-by-side');

/** A cell printing `tag0`, `tag1`, … (`n` lines, `pause` s apart). */
export const printing = (tag, n, pause) =>
  `import time\nfor i in range(${n}):\n    print(f"${tag}{i}", flush=True)\n    time.sleep(${pause})`;

/** The lines `printing` prints. */
export const lines = (tag, n) => Array.from({ length: n }, (_, i) => `${tag}${i}`);

/** Every `tag<number>` line in cell `i`'s output, in order. */
export const printed = async (page, i, tag) => tagged(await outputText(page, i), tag);

const tagged = (text, tag) => text.match(new RegExp(`\\b${tag}\\d+\\b`, 'g')) ?? [];

/** Cell `i` shows exactly the `tag` lines `expected`; if not, the failure shows the cell. */
export async function assertPrinted(page, i, tag, expected) {
  const text = await outputText(page, i);
  const found = tagged(text, tag);
  assert.deepEqual(
    found,
    expected,
    `cell ${i} shows ${JSON.stringify(found)}, not the ${expected.length} lines ` +
      `${tag}…; its output:\n${text.slice(0, 3000)}`
  );
}

export async function waitForState(page, jobId, state, timeout = 30_000) {
  await page.waitForSelector(
    `#parallel-cell-jobs [data-job-id="${jobId}"][data-job-state="${state}"]`,
    { state: 'attached', timeout }
  );
}

/** Kill a job with its row's button and wait until it is `killed`. */
export async function killJob(page, jobId, timeout = 20_000) {
  await rowOf(page, jobId).locator('button[aria-label="Kill job"]').click();
  await waitForState(page, jobId, 'killed', timeout);
}

/**
 * The text of a cell's outputs as the page shows them. JupyterLab gives cells
 * `content-visibility: auto`, and Chromium's innerText of a cell scrolled out of view is
 * '', so the cell is made visible for the one synchronous read.
 */
export const cellOutputText = cellLocator =>
  cellLocator.evaluate(el => {
    const before = el.style.contentVisibility;
    el.style.contentVisibility = 'visible';
    try {
      return el.querySelector('.jp-OutputArea')?.innerText ?? '';
    } finally {
      el.style.contentVisibility = before;
    }
  });

export const outputText = (page, i) => cellOutputText(cell(page, i));

/** Wait until cell `i`'s output matches `pattern` (a RegExp). */
export function waitForOutput(page, i, pattern, timeout = 30_000) {
  return page.waitForFunction(
    ([index, source, flags, cells]) =>
      new RegExp(source, flags).test(
        document.querySelectorAll(cells)[index]?.querySelector('.jp-OutputArea')?.textContent ?? ''
      ),
    [i, pattern.source, pattern.flags, CELLS],
    { timeout }
  );
}

/**
 * Register node:test hooks that start a server with `files`, a browser, and open
 * `notebookName` with the jobs panel shown. The returned object is filled in `before`.
 */
export function useNotebook(
  files,
  notebookName,
  { app = 'lab', settings = {}, panel = true, venv } = {}
) {
  const { before, after } = testHooks;
  const state = { lab: null, browser: null, page: null, context: null, errors: [] };
  before(async () => {
    state.lab = await startLab(files, app, { settings, venv });
    state.browser = await launchBrowser();
    const opened = await openNotebook(
      state.browser,
      state.lab,
      notebookName,
      app === 'lab' ? 'lab/tree' : 'notebooks'
    );
    Object.assign(state, opened);
    if (panel) {
      await openPanel(state.page);
    }
  });
  after(async () => {
    await state.browser?.close();
    await state.lab?.stop();
  });
  return state;
}

/**
 * A notebook as it is on disk in `lab`'s root, after nbformat validated it. jupyter_server
 * writes a file in place (its backup aside), so a read that catches a save half done is
 * made again; the text parsed is the text validated.
 */
export function notebookOnDisk(lab, name) {
  const path = join(lab.root, name);
  for (let attempt = 1; ; attempt++) {
    const text = readFileSync(path, 'utf8');
    let nb;
    try {
      nb = JSON.parse(text);
    } catch (error) {
      if (attempt >= 20) {
        throw error;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); // a save under way
      continue;
    }
    const check = spawnSync(
      join(ROOT, '.venv', 'bin', 'python'),
      [
        '-c',
        'import nbformat, sys; nbformat.validate(nbformat.reads(sys.stdin.read(), as_version=4))'
      ],
      { encoding: 'utf8', input: text }
    );
    if (check.status !== 0) {
      throw new Error(`${name} is not valid nbformat: ${check.stderr}`);
    }
    return nb;
  }
}

/** The stdout lines starting with `tag` of cell `i` of a notebook read from disk. */
export function fileLines(nb, i, tag) {
  return nb.cells[i].outputs
    .filter(o => o.output_type === 'stream' && o.name === 'stdout')
    .map(o => [o.text].flat().join(''))
    .join('')
    .split('\n')
    .filter(l => l.startsWith(tag));
}

/** Poll `check` until it returns something true; the server's log tail in the error. */
export async function untilTrue(lab, check, what, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = check();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeout / 1000} s\n${lab.log().slice(-3000)}`);
    }
    await new Promise(r => setTimeout(r, 200));
  }
}
