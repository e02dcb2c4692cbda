// With no page on a notebook, its background jobs' outputs still reach the file: the
// server writes them (parallel_cell.server) from where the page stopped, and hands back
// when a page comes. Every line once, on disk and in the page, and never a "File Changed"
// question for the person.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  fileLines,
  launchBrowser,
  lines,
  notebook,
  notebookOnDisk,
  openNotebook,
  openPanel,
  assertPrinted,
  printing,
  runSideBySide,
  startLab,
  untilTrue,
  waitForOutput,
  waitForState
} from './lab.mjs';

const JOBS = [printing('a', 8, 0.4), printing('b', 5, 0.3), 'untouched = 1'];

let lab;
let browser;
let pages = 0;

const open = name => openNotebook(browser, lab, name, `lab/workspaces/away-${++pages}/tree`);

before(async () => {
  lab = await startLab({
    'closed.ipynb': notebook(JOBS),
    'streaming.ipynb': notebook([printing('s', 40, 0.25)]),
    'deleted.ipynb': notebook([printing('d', 12, 0.3)])
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await lab?.stop();
});

const onDisk = name => notebookOnDisk(lab, name);
const until = (check, what, timeout) => untilTrue(lab, check, what, timeout);
const hasLine = (name, i, line) => () => fileLines(onDisk(name), i, line[0]).includes(line);

/** The text of the dialogs open on the page ("File Changed", …): none expected. */
const dialogs = page => page.locator('.jp-Dialog').allInnerTexts();

test('close the tab while two jobs run: the file gets every line once; reopened, nothing twice', async () => {
  const before = JSON.parse(readFileSync(join(lab.root, 'closed.ipynb'), 'utf8'));
  const first = await open('closed.ipynb');
  await openPanel(first.page);
  const [a, b] = await runSideBySide(first.page, 0, 1);
  await waitForState(first.page, a, 'running');
  await waitForOutput(first.page, 0, /a1/);
  await first.context.close();

  await until(hasLine('closed.ipynb', 0, 'a7'), 'a7 on disk');
  await until(hasLine('closed.ipynb', 1, 'b4'), 'b4 on disk');
  const nb = onDisk('closed.ipynb');
  assert.deepEqual(fileLines(nb, 0, 'a'), lines('a', 8));
  assert.deepEqual(fileLines(nb, 1, 'b'), lines('b', 5));
  assert.equal(nb.cells[0].metadata.parallel_cell.job, a);
  assert.equal(nb.cells[1].metadata.parallel_cell.job, b);
  // The cell without a job is as it was.
  assert.deepEqual(
    { ...nb.cells[2], source: [nb.cells[2].source].flat().join('') },
    { ...before.cells[2], source: [before.cells[2].source].flat().join('') }
  );
  assert.match(lab.log(), /no page holds kernel/);

  const again = await open('closed.ipynb');
  const { page } = again;
  await openPanel(page);
  await waitForState(page, a, 'done');
  await waitForState(page, b, 'done');
  // Give a wrong replay time to show, then check: once each, in the page.
  await new Promise(r => setTimeout(r, 2_000));
  await assertPrinted(page, 0, 'a', lines('a', 8));
  await assertPrinted(page, 1, 'b', lines('b', 5));
  // Saving changes nothing of it, and asks nothing.
  await page.keyboard.press('Control+s');
  await new Promise(r => setTimeout(r, 1_500));
  assert.deepEqual(await dialogs(page), []);
  const saved = onDisk('closed.ipynb');
  assert.deepEqual(fileLines(saved, 0, 'a'), lines('a', 8));
  assert.deepEqual(fileLines(saved, 1, 'b'), lines('b', 5));
  assert.deepEqual(again.errors, []);
  await again.context.close();
});

test('a job still streaming when the page comes back: the page takes over, each line once', async () => {
  const first = await open('streaming.ipynb');
  const [s] = await runSideBySide(first.page, 0, 0);
  await waitForOutput(first.page, 0, /s1/);
  await first.context.close();
  // The server writes some lines while no page is there.
  await until(hasLine('streaming.ipynb', 0, 's12'), 's12 on disk');

  const again = await open('streaming.ipynb');
  const { page } = again;
  await openPanel(page);
  const written = statSync(join(lab.root, 'streaming.ipynb')).mtimeMs;
  await waitForState(page, s, 'done', 30_000);
  await waitForOutput(page, 0, /s39/);
  await new Promise(r => setTimeout(r, 1_500));
  await assertPrinted(page, 0, 's', lines('s', 40));
  // With the page back, the server wrote nothing more behind it.
  assert.equal(statSync(join(lab.root, 'streaming.ipynb')).mtimeMs, written);
  await page.keyboard.press('Control+s');
  await new Promise(r => setTimeout(r, 1_500));
  assert.deepEqual(await dialogs(page), []);
  assert.deepEqual(fileLines(onDisk('streaming.ipynb'), 0, 's'), lines('s', 40));
  assert.deepEqual(again.errors, []);
  await again.context.close();
});

test('the notebook deleted while away: a line in the server log, no file made again', async () => {
  const first = await open('deleted.ipynb');
  const [d] = await runSideBySide(first.page, 0, 0);
  await waitForState(first.page, d, 'running');
  await first.context.close();
  const res = await fetch(`${lab.base}/api/contents/deleted.ipynb?token=${lab.token}`, {
    method: 'DELETE'
  });
  assert.equal(res.status, 204);
  await until(() => /deleted\.ipynb is not there any more/.test(lab.log()), 'the log line');
  // The job ends (3.6 s) and the server goes on serving.
  await new Promise(r => setTimeout(r, 5_000));
  assert.equal(existsSync(join(lab.root, 'deleted.ipynb')), false);
  assert.equal((await fetch(`${lab.base}/api/status?token=${lab.token}`)).status, 200);
});
