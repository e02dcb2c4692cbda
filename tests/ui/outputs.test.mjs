// Every output finds its cell, and a kill lets cleanup finish (issue 15): logging set up
// before the first job, child processes, a foreground that captures, cleanup under a
// kill, a kill swallowed by `except:`, a pool shared with the foreground, threads that
// outlive their job's code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cell,
  killJob,
  lines,
  newJob,
  notebook,
  outputText,
  assertPrinted,
  rowOf,
  runInBackground,
  runInForeground,
  useNotebook,
  waitForOutput,
  waitForState
} from './lab.mjs';

const SETUP_LOGGING =
  "import logging\nlogging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s', force=True)\nlog = logging.getLogger('nb')";
const TOOLS =
  "import os, subprocess\nlog.info('logged %d', 1)\nsubprocess.run(['sh', '-c', 'echo child out; echo child err >&2'])\nos.system('echo from os.system')\nprint('job done')";
const PRINTER = "import time\nfor k in range(30):\n    print(f'bg{k}')\n    time.sleep(0.05)";
const CAPTURING =
  "%%capture cap\nimport time\nfor i in range(10):\n    print(f'fg{i}')\n    time.sleep(0.05)";
const CAPTURED = "print(len(cap.stdout.splitlines()), 'bg' in cap.stdout)";
const FINALLY =
  "import time\nn = 0\ntry:\n    while True:\n        n += 1\nfinally:\n    t = time.monotonic()\n    while time.monotonic() - t < 0.3:\n        pass\n    time.sleep(0.3)\n    print('cleanup complete')";
const EXIT =
  "import os, tempfile, time\nPATH = os.path.join(tempfile.gettempdir(), f'pc-exit-{os.getpid()}.txt')\nclass Writer:\n    def __enter__(self):\n        return self\n    def __exit__(self, *exc):\n        with open(PATH, 'w') as f:\n            for _ in range(100):\n                f.write('x' * 1000)\n                time.sleep(0.005)\n        print('file written', os.path.getsize(PATH))\nwith Writer():\n    while True:\n        pass";
const SWALLOW =
  "import time\ntry:\n    while True:\n        time.sleep(0.01)\nexcept:\n    pass\nprint('after the handler')";
const POOL =
  "from concurrent.futures import ThreadPoolExecutor\nimport time\npool = ThreadPoolExecutor(1)\nprint(pool.submit(lambda: 'pool in job').result())\npool.submit(time.sleep, 100).result()";
const POOL_FG = "print(pool.submit(lambda: 'pool for the foreground').result())";
const TAIL =
  "import threading, time\ndef tail():\n    for k in range(4):\n        time.sleep(0.5)\n        print(f'tail{k}')\nthreading.Thread(target=tail).start()\nprint('code ended')";

const REDIRECTING =
  "import contextlib, io, time\nbuf = io.StringIO()\nwith contextlib.redirect_stdout(buf):\n    for i in range(10):\n        print(f'fg{i}')\n        time.sleep(0.05)";
const REDIRECTED = "print(len(buf.getvalue().splitlines()), 'bg' in buf.getvalue())";

const session = useNotebook(
  {
    'outputs.ipynb': notebook([
      SETUP_LOGGING, // 0
      TOOLS, // 1
      PRINTER, // 2
      CAPTURING, // 3
      CAPTURED, // 4
      FINALLY, // 5
      EXIT, // 6
      SWALLOW, // 7
      POOL, // 8
      POOL_FG, // 9
      TAIL, // 10
      REDIRECTING, // 11
      REDIRECTED, // 12
      PRINTER // 13
    ])
  },
  'outputs.ipynb'
);

test('logging set up before the first job, and child processes, write into the job cell', async () => {
  const { page } = session;
  await runInForeground(page, 0);
  const jobId = await newJob(page, () => runInBackground(page, 1));
  await waitForState(page, jobId, 'done');
  await waitForOutput(page, 1, /job done/);
  const text = await outputText(page, 1);
  for (const line of ['INFO logged 1', 'child out', 'child err', 'from os.system', 'job done']) {
    assert.ok(text.includes(line), `${line} missing from ${JSON.stringify(text)}`);
  }
  assert.ok(text.indexOf('child out') < text.indexOf('from os.system'));
  assert.ok(text.indexOf('from os.system') < text.indexOf('job done'));
  // The foreground cell that set logging up got none of it.
  assert.doesNotMatch(await outputText(page, 0), /logged|child|os\.system/);
});

for (const [what, capturing, printer] of [
  ['%%capture', 3, 2],
  ['redirect_stdout', 11, 13]
]) {
  test(`a foreground ${what} while a job prints takes none of its lines`, async () => {
    const { page } = session;
    const jobId = await newJob(page, () => runInBackground(page, printer));
    await waitForOutput(page, printer, /bg1\b/);
    await runInForeground(page, capturing);
    await runInForeground(page, capturing + 1);
    await waitForOutput(page, capturing + 1, /\d+ (True|False)/);
    assert.equal((await outputText(page, capturing + 1)).trim(), '10 False');
    await waitForState(page, jobId, 'done');
    await assertPrinted(page, printer, 'bg', lines('bg', 30));
  });
}

test('a kill lets finally and __exit__ finish their cleanup', async () => {
  const { page } = session;
  const first = await newJob(page, () => runInBackground(page, 5));
  await waitForState(page, first, 'running');
  await page.waitForTimeout(300);
  await killJob(page, first);
  await waitForOutput(page, 5, /cleanup complete/);
  const second = await newJob(page, () => runInBackground(page, 6));
  await waitForState(page, second, 'running');
  await page.waitForTimeout(300);
  await killJob(page, second);
  await waitForOutput(page, 6, /file written 100000/);
  assert.equal(await cell(page, 6).getAttribute('data-parallel-cell-state'), 'killed');
});

test('a kill swallowed by a bare except does not get past the handler', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 7));
  await waitForState(page, jobId, 'running');
  await page.waitForTimeout(300);
  await killJob(page, jobId);
  await page.waitForTimeout(500);
  assert.doesNotMatch(await outputText(page, 7), /after the handler/);
});

test('a pool a killed job used serves the foreground afterwards', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 8));
  await waitForOutput(page, 8, /pool in job/);
  await page.waitForTimeout(300);
  await killJob(page, jobId);
  await runInForeground(page, 9);
  await waitForOutput(page, 9, /pool for the foreground/);
  assert.doesNotMatch(await outputText(page, 8), /foreground/);
});

test('a thread that outlives its job code writes into the cell, and the row says it runs', async () => {
  const { page } = session;
  const jobId = await newJob(page, () => runInBackground(page, 10));
  await waitForState(page, jobId, 'done');
  const threads = rowOf(page, jobId).locator('[data-role="threads"]');
  await threads.waitFor({ state: 'visible', timeout: 10_000 });
  assert.match((await threads.textContent()) ?? '', /1/);
  await waitForOutput(page, 10, /tail3/);
  await threads.waitFor({ state: 'detached', timeout: 10_000 });
  const tail = (await outputText(page, 10)).match(/\b(code ended|tail\d)\b/g);
  assert.deepEqual(tail, ['code ended', 'tail0', 'tail1', 'tail2', 'tail3']);
});
