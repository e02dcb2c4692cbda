// %load_ext parallel_cell in JupyterLab and Notebook 7 with the extension disabled: no
// panel, no page code of ours, yet a %%job cell shows its live output and its final state
// in its own output area (display_data + update_display_data from the kernel) while
// another cell runs in the foreground.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  cell,
  jobIds,
  launchBrowser,
  lines,
  notebook,
  openNotebook,
  openPanel,
  outputText,
  printing,
  rowOf,
  runInBackground,
  runInForeground,
  startLab,
  waitForOutput,
  waitForState
} from './lab.mjs';

const CELLS = [
  '%load_ext parallel_cell',
  `%%job\n${printing('bg', 10, 0.3)}`,
  printing('fg', 3, 0.4),
  '%%job\nimport time\nprint("about to fail", flush=True)\ntime.sleep(0.5)\nraise ValueError("in the background")'
];

let browser;

/** Run cell 0 (`%load_ext parallel_cell`) and wait until it has run. */
async function loadExtension(page) {
  await runInForeground(page, 0);
  await page.waitForFunction(
    el => /\[1\]/.test(el.textContent ?? ''),
    await cell(page, 0).locator('.jp-InputPrompt').elementHandle()
  );
}
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

for (const app of ['lab', 'notebook']) {
  test(`${app}, extension disabled: a %%job cell streams into its own output area`, async () => {
    const lab = await startLab({ 'plain.ipynb': notebook(CELLS) }, app, {
      disabled: ['parallel-cell']
    });
    try {
      const { page, context } = await openNotebook(
        browser,
        lab,
        'plain.ipynb',
        app === 'lab' ? 'lab/tree' : 'notebooks',
        { extension: false }
      );
      assert.equal(
        await page.evaluate(() =>
          window.jupyterapp.commands.hasCommand('parallel-cell:run-in-background')
        ),
        false,
        'the page extension is disabled'
      );
      await loadExtension(page);
      await runInForeground(page, 1);
      await waitForOutput(page, 1, /\[job 1\] running/);
      // The foreground runs while the job does; the job's lines keep coming meanwhile.
      await runInForeground(page, 2);
      await waitForOutput(page, 2, /fg1/);
      await waitForOutput(page, 1, /bg3/);
      assert.match(await outputText(page, 1), /\[job 1\] running/);
      await waitForOutput(page, 2, /fg2/);
      await waitForOutput(page, 1, /\[job 1\] done in/, 30_000);
      const text = await outputText(page, 1);
      assert.deepEqual(text.match(/\bbg\d+\b/g), lines('bg', 10));
      assert.doesNotMatch(text, /fg\d/, 'the foreground output stays in its own cell');
      assert.doesNotMatch(await outputText(page, 2), /bg\d/);
      // An error: the status says so and the traceback is in the cell.
      await runInForeground(page, 3);
      await waitForOutput(page, 3, /\[job 2\] error after .*ValueError: in the background/);
      assert.match(await outputText(page, 3), /about to fail[\s\S]*ValueError/);
      await context.close();
    } finally {
      await lab.stop();
    }
  });
}

test('the extension links later: the job is listed, its cell keeps its output, once', async () => {
  const lab = await startLab({
    'later.ipynb': notebook([CELLS[0], `%%job\n${printing('bg', 16, 0.25)}`, 'print("linked")'])
  });
  try {
    const { page, context } = await openNotebook(browser, lab, 'later.ipynb');
    await loadExtension(page);
    await runInForeground(page, 1);
    await waitForOutput(page, 1, /bg2/);
    // A first Run in Background links the page to the kernel's runtime.
    await openPanel(page);
    await runInBackground(page, 2);
    await page.waitForFunction(
      () => document.querySelectorAll('#parallel-cell-jobs [data-job-id]').length === 2
    );
    // Both rows come at once: the kernel's job from %%job (id "k1") and the new one.
    const ids = await jobIds(page);
    assert.ok(ids.includes('k1'), `the %%job job is listed: ${ids}`);
    const linked = ids.find(id => id !== 'k1');
    const earlier = 'k1';
    await waitForState(page, linked, 'done');
    await waitForState(page, earlier, 'done', 30_000);
    await waitForOutput(page, 1, /\[job 1\] done in/);
    assert.deepEqual((await outputText(page, 1)).match(/\bbg\d+\b/g), lines('bg', 16));
    assert.match((await rowOf(page, earlier).textContent()) ?? '', /bg15/);
    await context.close();
  } finally {
    await lab.stop();
  }
});
