// Durable jobs: the kernel owns the queue. Close the tab mid-way, come back after
// everything ended, and every line is in its cell once; queued jobs survive a reload;
// several selected cells run as a chain; Clear finished frees the kernel's records.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  launchBrowser,
  lines,
  notebook,
  openNotebook,
  openPanel,
  outputText,
  assertPrinted,
  printing,
  rowOf,
  runInForeground,
  runRangeInBackground,
  runSideBySide,
  startLab,
  untilTrue,
  waitForOutput,
  waitForState
} from './lab.mjs';

// A ends soon after the tab closes, B runs on for seconds, C waits behind the cap of 2.
const AWAY = [printing('a', 4, 0.5), printing('b', 12, 0.5), printing('c', 4, 0.3)];

/** The same cells without stored ids (nbformat 4.4): JupyterLab makes new ids per load. */
function withoutIds(nb) {
  return {
    ...nb,
    nbformat_minor: 4,
    cells: nb.cells.map(({ id: _, ...rest }) => rest)
  };
}

// Run in the foreground: which check this is, and how many comms the kernel's runtime holds.
const COMMS_CELL =
  '_pc_checks = globals().get("_pc_checks", 0) + 1\n' +
  'print(f"check {_pc_checks}: {len(__import__(\'_parallel_cell_runtime\')._RUNTIME.comms)} comms")';

const QUEUED = Array.from({ length: 7 }, (_, i) => `import time\ntime.sleep(1)\nprint("q${i}")`);

let lab;
let browser;
let chain; // one page on chain.ipynb for the chain tests, opened once
let pages = 0;

/** Open `name` in a page of its own, in a workspace of its own (JupyterLab would
 * otherwise restore the notebooks earlier tests opened, each with its kernel). */
const open = (name, options) =>
  openNotebook(browser, lab, name, `lab/workspaces/durable-${++pages}/tree`, options);

before(async () => {
  lab = await startLab(
    {
      'away.ipynb': notebook(AWAY),
      'away-noids.ipynb': withoutIds(notebook(AWAY)),
      'queued.ipynb': notebook(QUEUED),
      'two-tabs.ipynb': notebook([
        'import time\nwhile True:\n    print("tick", flush=True)\n    time.sleep(0.3)'
      ]),
      'asleep.ipynb': notebook([
        printing('w', 80, 0.25),
        'print("asked while away", flush=True)',
        'print("asked once back", flush=True)'
      ]),
      'crash-tab.ipynb': notebook([
        'import time\nwhile True:\n    print("tick", flush=True)\n    time.sleep(0.3)',
        COMMS_CELL
      ]),
      'chain.ipynb': notebook([
        'import time\ntime.sleep(1.5)\nchain_x = 1',
        'chain_y = chain_x + 1\nprint("y is", chain_y)',
        'print("z is", chain_y * 10)',
        'import time\ntime.sleep(1)\nfail_a = 1',
        '1 / 0',
        'print("never printed")',
        'import time\nside_t0 = time.time()\ntime.sleep(1.5)',
        'import time\nside_t1 = time.time()\ntime.sleep(1.5)',
        'print("kernel jobs", len(__import__("_parallel_cell_runtime")._RUNTIME.jobs))'
      ])
    },
    'lab',
    {
      settings: { 'parallel-cell:plugin': { concurrency: 2, notifications: false } },
      args: ['--ParallelCellServer.comm_grace=2'] // a crashed tab's comm: closed after 2 s
    }
  );
  browser = await launchBrowser();
});

const chainPage = async () => {
  if (!chain) {
    chain = await open('chain.ipynb');
    await openPanel(chain.page);
  }
  return chain.page;
};

after(async () => {
  await browser?.close();
  await lab?.stop();
});

async function closeTabAndComeBack(name) {
  const first = await open(name);
  await openPanel(first.page);
  const [a, b, c] = await runSideBySide(first.page, 0, 2);
  await waitForState(first.page, a, 'running');
  await waitForState(first.page, b, 'running');
  // C waits behind the kernel's cap of 2 while A is about to end.
  await waitForState(first.page, c, 'queued');
  await waitForOutput(first.page, 0, /a2/);
  await first.context.close();
  // Everything ends while no page is open: B alone takes 6 s.
  await new Promise(r => setTimeout(r, 8_000));
  const again = await open(name);
  await openPanel(again.page);
  for (const id of [a, b, c]) {
    await rowOf(again.page, id).waitFor({ state: 'attached', timeout: 30_000 });
    await waitForState(again.page, id, 'done');
  }
  const { page } = again;
  await waitForOutput(page, 1, /b11/);
  await waitForOutput(page, 2, /c3/);
  await assertPrinted(page, 0, 'a', lines('a', 4));
  await assertPrinted(page, 1, 'b', lines('b', 12));
  await assertPrinted(page, 2, 'c', lines('c', 4));
  // Nothing of one job went into another's cell.
  assert.equal((await outputText(page, 0)).match(/[bc]\d/), null);
  assert.deepEqual(again.errors, []);
  await again.context.close();
}

test('close the tab while jobs run, wait, queue and end; reopen: every line once, in its cell', async () => {
  await closeTabAndComeBack('away.ipynb');
});

test('the same with a notebook whose cells have no stored ids', async () => {
  await closeTabAndComeBack('away-noids.ipynb');
});

test('a reload with jobs queued past the cap: all of them run, each into its cell', async () => {
  const { page, context } = await open('queued.ipynb');
  await openPanel(page);
  const ids = await runSideBySide(page, 0, QUEUED.length - 1);
  await waitForState(page, ids.at(-1), 'queued');
  await page.reload();
  await page.waitForSelector('.jp-Notebook .jp-Cell', { timeout: 60_000 });
  await openPanel(page);
  for (const id of ids) {
    await rowOf(page, id).waitFor({ state: 'attached', timeout: 30_000 });
  }
  for (const id of ids) {
    await waitForState(page, id, 'done', 30_000);
  }
  for (let i = 0; i < QUEUED.length; i++) {
    await waitForOutput(page, i, new RegExp(`q${i}`));
    await assertPrinted(page, i, 'q', [`q${i}`]);
  }
  await context.close();
});

test('three selected cells run as a chain, each after the one before', async () => {
  const page = await chainPage();
  const [x, y, z] = await runRangeInBackground(page, 0, 2);
  await waitForState(page, x, 'running');
  // The later ones wait, and say for which job.
  const waits = rowOf(page, y).locator('[data-role="waits-for"]');
  await waits.waitFor({ state: 'visible' });
  assert.match(await waits.innerText(), /time\.sleep\(1\.5\)|import time/);
  assert.equal(await rowOf(page, z).getAttribute('data-job-state'), 'queued');
  for (const id of [x, y, z]) {
    await waitForState(page, id, 'done');
  }
  await waitForOutput(page, 2, /z is 20/);
  assert.match(await outputText(page, 1), /y is 2/);
});

test('a failing cell in a chain stops the rest, and each row says why', async () => {
  const page = await chainPage();
  const [a, bad, rest] = await runRangeInBackground(page, 3, 5);
  await waitForState(page, a, 'done');
  await waitForState(page, bad, 'error');
  await waitForState(page, rest, 'error');
  const why = await rowOf(page, rest).innerText();
  assert.match(why, /DependencyFailed/);
  assert.match(why, /did not run/);
  assert.doesNotMatch(await outputText(page, 5), /never printed/);
});

test('Side by Side starts the selected cells together', async () => {
  const page = await chainPage();
  const [s0, s1] = await runSideBySide(page, 6, 7);
  await waitForState(page, s0, 'running');
  await waitForState(page, s1, 'running');
  assert.equal(await rowOf(page, s1).locator('[data-role="waits-for"]').count(), 0);
  await waitForState(page, s0, 'done');
  await waitForState(page, s1, 'done');
});

test('Clear finished frees the jobs in the kernel too', async () => {
  const page = await chainPage();
  await page.waitForFunction(
    () => document.querySelectorAll('#parallel-cell-jobs [data-job-id]').length > 0
  );
  await page.evaluate(() => window.jupyterapp.commands.execute('parallel-cell:clear-finished'));
  await page.waitForFunction(
    () => document.querySelectorAll('#parallel-cell-jobs [data-job-id]').length === 0
  );
  await runInForeground(page, 8);
  await waitForOutput(page, 8, /kernel jobs \d+/);
  assert.match(await outputText(page, 8), /kernel jobs 0\b/);
});

/** Two tabs on `name`; the first runs cell 0 in the background, the second lists it. */
async function twoTabs(name) {
  const a = await open(name);
  const b = await open(name);
  await openPanel(a.page);
  await openPanel(b.page);
  const [job] = await runSideBySide(a.page, 0, 0);
  await waitForState(a.page, job, 'running');
  await rowOf(b.page, job).waitFor({ state: 'attached', timeout: 30_000 });
  return { a, b, job };
}

test('two tabs on one notebook: after one closes, the other still reaches the kernel', async () => {
  const logFrom = lab.log().length; // this test's part of the server log
  const { a, b, job } = await twoTabs('two-tabs.ipynb');
  // The first tab goes away the way a closing tab does: on 'pagehide' it closes its comm,
  // and JupyterLab deletes the comm's kernel subshell with it.
  await a.page.goto('about:blank');
  await new Promise(r => setTimeout(r, 1_000));
  await a.context.close();
  // The tab that stays kills the job. (The kernel-level fault once seen here — the other
  // tab's messages routed to the deleted subshell, "Cannot handle comm_msg …: Unknown
  // subshell_id" — is reproduced deterministically in tests/python/test_subshell.py.) The
  // closing tab's own comm_close may meet its deleted subshell too: JupyterLab deletes it
  // on the control channel, which can overtake the close. That one is not the fault.
  await rowOf(b.page, job).locator('button[aria-label="Kill job"]').click();
  await waitForState(b.page, job, 'killed', 15_000);
  assert.doesNotMatch(
    lab.log().slice(logFrom),
    /Cannot handle (?!comm_close )[^\n]*Unknown subshell_id/
  );
  assert.deepEqual(b.errors, []);
  await b.context.close();
});

test('a tab that crashes leaves no comm open in the kernel: the server closes it', async () => {
  const { a, b, job } = await twoTabs('crash-tab.ipynb');
  let checks = 0;
  const comms = async () => {
    checks += 1;
    await runInForeground(b.page, 1);
    await waitForOutput(b.page, 1, new RegExp(`check ${checks}: \\d+ comms`));
    return Number((await outputText(b.page, 1)).match(/: (\d+) comms/)[1]);
  };
  assert.equal(await comms(), 2); // one per tab
  // Killed, not closed: no pagehide, no comm_close; only the websocket ends.
  const cdp = await a.context.newCDPSession(a.page);
  cdp.send('Page.crash').catch(() => {}); // never answered: the renderer is gone
  await new Promise(r => setTimeout(r, 1_000));
  const deadline = Date.now() + 20_000;
  let left = await comms();
  while (left !== 1 && Date.now() < deadline) {
    await new Promise(r => setTimeout(r, 500));
    left = await comms();
  }
  assert.equal(left, 1, "the crashed tab's comm is still open in the kernel");
  assert.match(lab.log(), /closed 1 runtime comm\(s\) a page left open/);
  // The tab that stays goes on: it kills the job.
  await rowOf(b.page, job).locator('button[aria-label="Kill job"]').click();
  await waitForState(b.page, job, 'killed', 15_000);
  assert.deepEqual(b.errors, []);
  await a.context.close().catch(() => {});
  await b.context.close();
});

test('a page away longer than comm_grace (a laptop asleep) comes back linked: nothing lost', async () => {
  // The kernel's websocket goes through a route this test can cut, as sleep or a network
  // drop does: the server sees the socket close and, after comm_grace, closes the comm.
  // On the way back, the first thing the page hears is a `jobs` answer from before the
  // drop, as jupyter_server replays what it buffered for a page: it must not make the
  // page send into the closed comm what it held while away.
  let cut = false;
  let live = null;
  let stale = null;
  const route = ws => {
    if (cut) {
      ws.close();
      return;
    }
    const server = ws.connectToServer();
    // Once back, before the server's first frame (the websocket's subprotocol is known
    // by then: JupyterLab decodes by it).
    let replay = live && stale;
    server.onMessage(message => {
      // A copy of its own: a binary frame comes as a view into a pooled buffer, which
      // `send` passes whole (seen: JupyterLab then fails to decode it).
      const frame = Buffer.isBuffer(message)
        ? Buffer.from(message.buffer.slice(message.byteOffset, message.byteOffset + message.length))
        : message;
      stale ??= /"type":\s*"jobs"/.test(String(frame)) ? frame : null;
      if (replay) {
        ws.send(replay);
        replay = null;
      }
      ws.send(frame);
    });
    live = { ws, server };
  };
  const { page, context, errors } = await open('asleep.ipynb', {
    prepare: c => c.routeWebSocket(/\/api\/kernels\//, route)
  });
  assert.ok(live, 'the kernel websocket did not go through the route');
  await openPanel(page);
  const [job] = await runSideBySide(page, 0, 0);
  await waitForState(page, job, 'running');
  await waitForOutput(page, 0, /w2\b/);
  assert.ok(stale, 'no `jobs` answer came through the route');
  const logFrom = lab.log().length;
  cut = true;
  await live.ws.close();
  await live.server.close();
  // Away until the server has closed this page's comm (comm_grace is 2 s here).
  await untilTrue(
    lab,
    () => /closed 1 runtime comm\(s\) a page left open/.test(lab.log().slice(logFrom)),
    "the server closing the away page's comm",
    30_000
  );
  // Run in Background while away: it waits for the page to be back, then runs.
  const away = runSideBySide(page, 1, 1);
  await new Promise(r => setTimeout(r, 1_000));
  cut = false;
  await page.waitForFunction(
    () =>
      window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.connectionStatus ===
      'connected',
    null,
    { timeout: 60_000 }
  );
  await waitForState(page, job, 'done', 30_000);
  await waitForOutput(page, 0, /w79/);
  await assertPrinted(page, 0, 'w', lines('w', 80));
  const [asked] = await away;
  await waitForState(page, asked, 'done');
  await waitForOutput(page, 1, /asked while away/);
  const [next] = await runSideBySide(page, 2, 2);
  await waitForState(page, next, 'done');
  await waitForOutput(page, 2, /asked once back/);
  assert.doesNotMatch(lab.log().slice(logFrom), /No such comm/);
  assert.deepEqual(errors, []);
  await context.close();
});
