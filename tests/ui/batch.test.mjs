// What the page sends to one kernel's comm, gathered (labextension/src/batch.ts, as built
// into labextension/lib): a task's messages leave as one comm message; a submission of
// many cells gathers across its slices, within an age and a size bound. No browser needed:
// the clock is the test's own.
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { GATHER_SEND_CHARS, GATHER_SEND_MS, MessageBatch } from '../../labextension/lib/batch.js';

let now = 0;
Object.defineProperty(globalThis, 'performance', { value: { now: () => now }, configurable: true });
beforeEach(() => {
  now = 1_000;
});

const submit = (id, code = 'pass') => ({ type: 'submit', job: id, code });
const kill = id => ({ type: 'kill', job: id });
const turn = () => new Promise(resolve => setTimeout(resolve, 0));

/** A batch and the comm messages it delivered. */
function batch() {
  const sent = [];
  return { sent, batch: new MessageBatch(data => sent.push(data)) };
}

test('what one task sends leaves after it, as one comm message, in order', async () => {
  const { sent, batch: b } = batch();
  b.add(kill('a'));
  b.add(kill('b'));
  assert.deepEqual(sent, [], 'nothing leaves within the task');
  await turn();
  assert.deepEqual(sent, [[kill('a'), kill('b')]]);
  b.add(kill('c'));
  await turn();
  assert.deepEqual(sent[1], kill('c'), 'a message alone leaves as itself, not a list of one');
  assert.equal(sent.length, 2);
});

test('while a submission gathers, its slices wait until it ends', async () => {
  const { sent, batch: b } = batch();
  b.gather(true);
  b.add(submit('1'));
  await turn(); // the page's pause between slices
  now += 20;
  b.add(submit('2'));
  await turn();
  assert.deepEqual(sent, []);
  b.gather(false);
  assert.deepEqual(sent, [[submit('1'), submit('2')]]);
  b.gather(false); // an extra end neither sends nor goes below zero
  b.add(kill('x'));
  await turn();
  assert.deepEqual(sent[1], kill('x'));
});

test('overlapping submissions: the first to end does not send the other’s slices', async () => {
  const { sent, batch: b } = batch();
  b.gather(true);
  b.add(submit('a1'));
  b.gather(true);
  b.add(submit('b1'));
  b.gather(false);
  await turn();
  assert.deepEqual(sent, []);
  b.gather(false);
  assert.deepEqual(sent, [[submit('a1'), submit('b1')]]);
});

test(`what gathers leaves once its first message is over ${GATHER_SEND_MS} ms old`, async () => {
  const { sent, batch: b } = batch();
  b.gather(true);
  b.add(submit('1'));
  now += GATHER_SEND_MS;
  b.add(submit('2'));
  assert.deepEqual(sent, [], 'not yet: exactly at the bound');
  now += 1;
  b.add(submit('3'));
  assert.deepEqual(sent, [[submit('1'), submit('2'), submit('3')]]);
  // The age counts again from the next message.
  now += 10 * GATHER_SEND_MS;
  b.add(submit('4'));
  now += 1;
  b.add(submit('5'));
  assert.equal(sent.length, 1);
  b.gather(false);
  assert.deepEqual(sent[1], [submit('4'), submit('5')]);
});

test('what gathers leaves once it carries more code than the size bound', () => {
  const { sent, batch: b } = batch();
  const half = 'x'.repeat(GATHER_SEND_CHARS / 2);
  b.gather(true);
  b.add(submit('1', half));
  b.add(kill('k')); // carries no code: counts nothing
  b.add(submit('2', half));
  assert.deepEqual(sent, []);
  b.add(submit('3', 'y'));
  assert.equal(sent.length, 1);
  assert.deepEqual(
    sent[0].map(m => m.job),
    ['1', 'k', '2', '3']
  );
  b.add(submit('4', half));
  b.gather(false);
  assert.deepEqual(sent[1], submit('4', half), 'the size counts again after a send');
});

test('a cleared batch (the comm is gone) sends nothing of what waited', async () => {
  const { sent, batch: b } = batch();
  b.add(kill('a'));
  b.clear();
  await turn();
  b.gather(true);
  b.add(submit('1'));
  b.clear();
  b.gather(false);
  assert.deepEqual(sent, []);
  b.add(kill('b'));
  await turn();
  assert.deepEqual(sent, [kill('b')]);
});
