// Journey 2, "Watch": the cell shows its job, every kind of output streams into it, the
// notebook is dirty and a save keeps the outputs, timing metadata records the real run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  showNotebook,
  cell,
  newJob,
  notebook,
  outputText,
  rowOf,
  runInBackground,
  useNotebook,
  waitForOutput,
  waitForState
} from './lab.mjs';

const KINDS = [
  'from IPython.display import HTML, clear_output, display',
  'import time',
  'print("gone after the clear")',
  'clear_output(wait=True)',
  'print("after the clear")',
  'handle = display(HTML("<b>first</b>"), display_id=True)',
  'time.sleep(0.3)',
  'handle.update(HTML("<b>updated</b>"))',
  'answer = 6 * 7',
  'answer'
].join('\n');

const TICKS = [
  'import time',
  'for tick in range(40):',
  '    print(f"tick {tick}", flush=True)',
  '    time.sleep(0.1)'
].join('\n');

const FAILS = 'def broken():\n    return 1 / 0\n\nbroken()';

const session = useNotebook(
  {
    'watch.ipynb': notebook([KINDS, TICKS, FAILS, 'import time; time.sleep(1.5)']),
    'watch-ipk6.ipynb': notebook([KINDS, TICKS], 'python3-ipk6')
  },
  'watch.ipynb',
  { settings: { '@jupyterlab/notebook-extension:tracker': { recordTiming: true } } }
);

// Starred journey: the same on ipykernel 7 and 6 (the ipykernel 6 notebook runs after).
for (const [path, label] of [
  ['watch.ipynb', 'ipykernel 7'],
  ['watch-ipk6.ipynb', 'ipykernel 6']
]) {
  test(`${label}: every kind of output lands in the cell, as a foreground run would leave it`, async () => {
    const { page } = session;
    await showNotebook(page, path);
    const jobId = await newJob(page, () => runInBackground(page, 0));
    await waitForState(page, jobId, 'done');
    const area = cell(page, 0).locator('.jp-OutputArea');
    const text = await outputText(page, 0);
    assert.doesNotMatch(text, /gone after the clear/, 'clear_output(wait=True) cleared');
    assert.match(text, /after the clear/);
    assert.doesNotMatch(text, /first/, 'update_display replaced the display');
    assert.equal(await area.locator('b', { hasText: 'updated' }).count(), 1, 'HTML rendered');
    assert.match(text, /42/, 'the last expression is an execute_result');
    const outputs = await page.evaluate(() => {
      const panel = window.jupyterapp.shell.currentWidget;
      return panel.content.widgets[0].model.outputs.toJSON().map(o => o.output_type);
    });
    assert.deepEqual(outputs, ['stream', 'display_data', 'execute_result']);
    // The finished row says which global names the job assigned.
    const assigned = rowOf(page, jobId).locator('[data-role="assigned"]');
    assert.match((await assigned.textContent()) ?? '', /Assigned: .*\banswer\b/);
    assert.match((await assigned.textContent()) ?? '', /\bhandle\b/);
    // Laid out as a line of its own under the title, which keeps its room.
    const title = await rowOf(page, jobId).locator('.pc-job-title').boundingBox();
    const names = await assigned.boundingBox();
    assert.ok(title.width > 40, `the title is ${title.width}px wide`);
    assert.ok(names.y >= title.y + title.height - 1, 'the names are below the title');
    // With a handful of jobs there is nothing to "show more" of.
    assert.equal(await page.locator('#parallel-cell-jobs .pc-show-more').isVisible(), false);
  });

  test(`${label}: the cell shows its job while it runs, and its output streams as it comes`, async () => {
    const { page } = session;
    await showNotebook(page, path);
    const jobId = await newJob(page, () => runInBackground(page, 1));
    await waitForState(page, jobId, 'running');
    await waitForOutput(page, 1, /tick 2\b/);
    assert.equal(await cell(page, 1).getAttribute('data-parallel-cell-state'), 'running');
    // The badge in the prompt area says so, in words that come from the translator.
    const badge = await cell(page, 1)
      .locator('.jp-InputPrompt')
      .evaluate(node => getComputedStyle(node, '::after').content);
    assert.match(badge, /running/);
    assert.doesNotMatch(await outputText(page, 1), /tick 39/, 'output arrived before the end');
    // The row's live last line follows the output.
    await page.waitForFunction(
      id => {
        const line = document.querySelector(
          `#parallel-cell-jobs [data-job-id="${id}"] [data-role="last-line"]`
        );
        return /tick \d+/.test(line?.textContent ?? '');
      },
      jobId,
      { timeout: 10_000 }
    );
    assert.match(
      (await rowOf(page, jobId).locator('[data-role="elapsed"]').textContent()) ?? '',
      /\d/
    );
    await waitForState(page, jobId, 'done', 30_000);
    assert.equal(await cell(page, 1).getAttribute('data-parallel-cell-state'), 'done');
    const badgeAfter = await cell(page, 1)
      .locator('.jp-InputPrompt')
      .evaluate(node => getComputedStyle(node, '::after').content);
    assert.doesNotMatch(badgeAfter, /running/);
    assert.match(await outputText(page, 1), /tick 39/);
  });
}

test('an error is an output of the cell too', async () => {
  const { page } = session;
  await showNotebook(page, 'watch.ipynb');
  const jobId = await newJob(page, () => runInBackground(page, 2));
  await waitForState(page, jobId, 'error');
  await waitForOutput(page, 2, /ZeroDivisionError/);
  assert.match(await outputText(page, 2), /return 1 \/ 0/);
});

test('a one-line cell keeps its height while its job waits and runs: nothing below moves', async () => {
  const { page } = session;
  await showNotebook(page, 'watch.ipynb');
  const height = () => cell(page, 3).evaluate(node => node.getBoundingClientRect().height);
  const before = await height();
  const jobId = await newJob(page, () => runInBackground(page, 3));
  await waitForState(page, jobId, 'running');
  const badge = await cell(page, 3)
    .locator('.jp-InputPrompt')
    .evaluate(node => getComputedStyle(node, '::after').content);
  assert.match(badge, /running/);
  assert.equal(await height(), before);
  await waitForState(page, jobId, 'done');
  assert.equal(await height(), before);
});

test('timing metadata records the real start and end of the job', async () => {
  const { page } = session;
  const timing = await page.evaluate(() => {
    const panel = window.jupyterapp.shell.currentWidget;
    return panel.content.widgets[1].model.getMetadata('execution');
  });
  assert.ok(timing, 'the ticking cell has execution timing metadata');
  const start = Date.parse(timing['shell.execute_reply.started']);
  const end = Date.parse(timing['shell.execute_reply']);
  assert.ok(Number.isFinite(start) && Number.isFinite(end), JSON.stringify(timing));
  // 40 ticks of 0.1 s: the job ran about 4 s.
  assert.ok(end - start >= 3500 && end - start < 60_000, `duration ${end - start} ms`);
});

test('the notebook is dirty, and saving it keeps the outputs on disk', async () => {
  const { page, lab } = session;
  assert.equal(
    await page.evaluate(() => window.jupyterapp.shell.currentWidget.context.model.dirty),
    true
  );
  await page.evaluate(() => window.jupyterapp.commands.execute('docmanager:save'));
  await page.waitForFunction(
    () => !window.jupyterapp.shell.currentWidget.context.model.dirty,
    null,
    { timeout: 10_000 }
  );
  const res = await fetch(`${lab.base}/api/contents/watch.ipynb?token=${lab.token}`);
  const saved = (await res.json()).content;
  const text = JSON.stringify(saved.cells[1].outputs);
  assert.match(text, /tick 39/);
  assert.match(JSON.stringify(saved.cells[0].outputs), /updated/);
  assert.ok(saved.cells[1].metadata.execution?.['shell.execute_reply']);
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(session.errors, []);
});
