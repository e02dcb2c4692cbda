// Hostile output: HTML and <script> in stdout, exception messages, tracebacks and an HTML
// display, from jobs of an untrusted notebook. Nothing runs in the page; the panel shows
// kernel text as text. (Issue 7, "Hostile output".)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newJob, notebook, rowOf, runInBackground, useNotebook, waitForState } from './lab.mjs';

// Each payload tries to set window.__pwned to its own number.
const IMG = n => `<img src=x onerror="window.__pwned=(window.__pwned||[]).concat(${n})">`;
const SCRIPT = n => `<script>window.__pwned=(window.__pwned||[]).concat(${n})</script>`;

const CELLS = [
  `print(${JSON.stringify(IMG(1) + SCRIPT(2))})`,
  `raise ValueError(${JSON.stringify(SCRIPT(3) + IMG(4))})`,
  [
    'from IPython.display import HTML, display',
    `display(HTML(${JSON.stringify(SCRIPT(5) + IMG(6) + '<b id="bold-ok">bold</b>')}))`
  ].join('\n'),
  // ANSI colour codes around markup, the way IPython colours a traceback.
  `import sys\nsys.stderr.write("\\x1b[31m" + ${JSON.stringify(IMG(7))} + "\\x1b[0m\\n")\n1/0`,
  `print(${JSON.stringify('</pre></div>' + SCRIPT(8) + '<a href="javascript:window.__pwned=9">x</a>')})`
];

const session = useNotebook({ 'hostile.ipynb': notebook(CELLS) }, 'hostile.ipynb');

test('markup in job output never runs in the page and stays text in the panel', async () => {
  const { page } = session;
  const ids = [];
  for (let i = 0; i < CELLS.length; i++) {
    ids.push(await newJob(page, () => runInBackground(page, i)));
  }
  const ends = ['done', 'error', 'done', 'error', 'done'];
  for (const [i, id] of ids.entries()) {
    await waitForState(page, id, ends[i]);
  }
  await page.waitForTimeout(1000); // room for any onerror to fire
  const ran = await page.evaluate(() => window.__pwned ?? []);
  const inPanel = await page
    .locator('#parallel-cell-jobs')
    .locator('script, img, iframe, a[href^="javascript"]')
    .count();
  console.log(
    `# hostile output: ${CELLS.length} jobs, payloads that ran ${ran.length}, markup elements in the panel ${inPanel}`
  );
  assert.deepEqual(ran, [], 'no payload ran');

  const panel = page.locator('#parallel-cell-jobs');
  assert.equal(await panel.locator('script, img, iframe, a[href^="javascript"]').count(), 0);
  // The last line shows the markup as text, exactly.
  assert.equal(
    await rowOf(page, ids[0]).locator('[data-role="last-line"]').textContent(),
    IMG(1) + SCRIPT(2)
  );
  // The exception message with markup: the traceback is text too.
  await rowOf(page, ids[1]).locator('summary').click();
  const traceback = await rowOf(page, ids[1]).locator('[data-role="traceback"]').textContent();
  assert.ok(traceback.includes(SCRIPT(3) + IMG(4)), traceback);
  await rowOf(page, ids[3]).locator('summary').click();
  assert.match(
    (await rowOf(page, ids[3]).locator('[data-role="traceback"]').textContent()) ?? '',
    /ZeroDivisionError/
  );
  assert.equal(
    await rowOf(page, ids[3]).locator('[data-role="last-line"]').textContent(),
    IMG(7),
    'ANSI codes are parsed away, the markup stays text'
  );
  assert.equal(
    await rowOf(page, ids[4]).locator('[data-role="last-line"]').textContent(),
    '</pre></div>' + SCRIPT(8) + '<a href="javascript:window.__pwned=9">x</a>'
  );
});

test('an HTML display in an untrusted notebook renders as JupyterLab sanitises it', async () => {
  const { page } = session;
  const area = page.locator('.jp-Notebook .jp-Cell').nth(2).locator('.jp-OutputArea');
  await area.locator('#bold-ok, b', { hasText: 'bold' }).first().waitFor();
  // JupyterLab's sanitiser drops scripts and event handlers from untrusted HTML.
  assert.equal(await area.locator('script').count(), 0);
  assert.equal(await area.locator('img[onerror]').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(session.errors, []);
});
