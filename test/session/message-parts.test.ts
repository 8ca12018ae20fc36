// Message (src/session/message.ts): views made on demand, pieces of a reassembled message
// joined only when asked, and compact() letting go of the socket chunks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Message } from '../../src/session/message.js';

test('message over a range of a chunk: content, payload and size without copying', () => {
  const chunk = Buffer.from('xxMSG-HEAD\r\nhelloyy', 'latin1');
  const m = new Message('MSG', 1, 0, 0, 0, false, chunk, true, 10, 7);
  assert.equal(m.size, 7);
  assert.equal(Buffer.from(m.content).toString('latin1'), '\r\nhello');
  assert.equal(m.payload.length, 5);
  assert.equal(m.text, 'hello');
  assert.equal(m.payload.buffer, chunk.buffer, 'the body is a view of the chunk');
  assert.equal(m.contentType, 'application/octet-stream');
});

test('message from pieces: contentParts as given, content and payload joined once, compact() joins', () => {
  const a = Buffer.from('Content-Type: text/plain\r\n\r\nab', 'latin1'),
    b = Buffer.from('cd', 'latin1'),
    c = Buffer.from('ef', 'latin1');
  const m = new Message('RPY', 1, 3, 0, 0, false, [a, b, c], true);
  assert.equal(m.size, a.length + 4);
  assert.deepEqual(m.contentParts, [a, b, c]);
  assert.equal(m.text, 'abcdef');
  assert.equal(m.contentType, 'text/plain');
  assert.equal(m.contentParts.length, 1, 'joined once asked for');
  const n = new Message('RPY', 1, 4, 0, 0, false, [Buffer.from('\r\nxy'), Buffer.from('z')], true);
  n.compact();
  assert.equal(n.contentParts.length, 1);
  assert.equal(n.text, 'xyz');
  const e = new Message('RPY', 1, 5, 0, 0, false, [], false);
  assert.equal(e.size, 0);
  assert.equal(e.payload.length, 0);
});
