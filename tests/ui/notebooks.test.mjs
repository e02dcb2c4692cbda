// Which open notebook a job's old path names after a rename this page never saw
// (labextension/src/notebooks.ts, as built into labextension/lib). No browser needed:
// the notebook tracker and its panels are the test's own plain objects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotebookPaths } from '../../labextension/lib/notebooks.js';

const signal = () => ({ connect() {} });

/** An open notebook at `path` on kernel `kernelId`, with cells of these ids. */
const panel = (path, kernelId, cellIds) => ({
  context: { path, pathChanged: signal() },
  sessionContext: { session: { kernel: { id: kernelId } } },
  content: { widgets: cellIds.map(id => ({ model: { id } })) }
});

/** The paths of `panels`, and the renames they report. */
function paths(panels) {
  const tracker = {
    widgetAdded: signal(),
    forEach: fn => panels.forEach(fn),
    find: fn => panels.find(fn)
  };
  const moves = [];
  return { paths: new NotebookPaths(tracker, (from, to) => moves.push([from, to])), moves };
}

test('the one notebook on the kernel with the cell was the renamed one', () => {
  const analysis = panel('analysis.ipynb', 'k1', ['c0', 'c1']);
  const { paths: p, moves } = paths([analysis]);
  p.adopt('Untitled.ipynb', 'k1', 'c1');
  assert.deepEqual(moves, [['Untitled.ipynb', 'analysis.ipynb']]);
  assert.equal(p.panel('Untitled.ipynb'), analysis);
});

test('another notebook on the same kernel (a scratch notebook) does not hide it', () => {
  const scratch = panel('scratch.ipynb', 'k1', ['s0']);
  const analysis = panel('analysis.ipynb', 'k1', ['c0']);
  const elsewhere = panel('other.ipynb', 'k2', ['c0']); // its cell, another kernel
  const { paths: p, moves } = paths([scratch, elsewhere, analysis]);
  p.adopt('Untitled.ipynb', 'k1', 'c0');
  assert.deepEqual(moves, [['Untitled.ipynb', 'analysis.ipynb']]);
});

test('two notebooks on the kernel with the cell (a copy): neither is taken', () => {
  const { paths: p, moves } = paths([
    panel('analysis.ipynb', 'k1', ['c0']),
    panel('analysis-Copy1.ipynb', 'k1', ['c0'])
  ]);
  p.adopt('Untitled.ipynb', 'k1', 'c0');
  assert.deepEqual(moves, []);
  assert.equal(p.panel('Untitled.ipynb'), null);
});

test('nothing moves when the path is open, the cell is unknown, or none has it', () => {
  const untitled = panel('Untitled.ipynb', 'k1', ['c0']);
  const { paths: p, moves } = paths([untitled, panel('analysis.ipynb', 'k1', ['c0'])]);
  p.adopt('Untitled.ipynb', 'k1', 'c0'); // still open under its name
  p.adopt('gone.ipynb', 'k1', null); // a job with no cell (`%job`)
  p.adopt('gone.ipynb', 'k1', 'zz'); // no open notebook has its cell
  p.adopt(null, 'k1', 'c0');
  assert.deepEqual(moves, []);
  assert.equal(p.panel('Untitled.ipynb'), untitled);
});
