// The error hierarchy (docs/errors.md): classes, codes, brands, and how popChannelError reports them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BeepError, BeepFramingError, BeepReplyError, BeepCodecPanic, MgmtSyntaxError } from './errors.js';
import { parseMgmt, MgmtSyntaxError as FromMgmt } from './session/mgmt.js';
import * as beepwire from './index.js';

test('every error class is a BeepError with a stable code', () => {
  const all: Array<[BeepError, string]> = [
    [new BeepError('x', 'BEEP_ERR_TIMEOUT'), 'BEEP_ERR_TIMEOUT'],
    [new BeepFramingError('bad', 3, 1, 10), 'BEEP_ERR_FRAMING'],
    [new BeepReplyError(550, 'no'), 'BEEP_ERR_REPLY'],
    [new MgmtSyntaxError('bad xml'), 'BEEP_ERR_MGMT'],
    [new BeepCodecPanic(new Error('trap')), 'BEEP_ERR_CODEC_PANIC'],
  ];
  for (const [e, code] of all) {
    assert.ok(e instanceof BeepError && e instanceof Error, e.name);
    assert.equal(e.code, code);
  }
  assert.equal(new MgmtSyntaxError('x').replyCode, 500);
  assert.equal(new MgmtSyntaxError('x', 501).replyCode, 501);
  assert.equal(new MgmtSyntaxError('x').name, 'MgmtSyntaxError');
  assert.ok(!(new MgmtSyntaxError('x') instanceof BeepReplyError), "our finding, not the peer's reply");
});

test('MgmtSyntaxError: one class whether imported from errors, session/mgmt or the package; parseMgmt throws it', () => {
  assert.equal(FromMgmt, MgmtSyntaxError);
  assert.equal(beepwire.MgmtSyntaxError, MgmtSyntaxError);
  assert.throws(
    () => parseMgmt('<start number="1"/>'),
    (e: unknown) => e instanceof MgmtSyntaxError && e instanceof BeepError && e.replyCode === 501 && e.code === 'BEEP_ERR_MGMT',
  );
  assert.throws(
    () => parseMgmt('<greeting'),
    (e: unknown) => e instanceof MgmtSyntaxError && e.replyCode === 500,
  );
});

test('brands: an object from another copy of the package is recognised; a plain Error is not', () => {
  const foreign = Object.create(Error.prototype, {
    [Symbol.for('beepwire.error')]: { value: true },
    [Symbol.for('beepwire.error.mgmt-syntax')]: { value: true },
  });
  assert.ok(foreign instanceof BeepError);
  assert.ok(foreign instanceof MgmtSyntaxError);
  assert.ok(!(new Error('x') instanceof BeepError));
  assert.ok(!(new BeepError('x') instanceof MgmtSyntaxError));
});

test('popChannelError codes: MgmtSyntaxError gives its 500/501, a reply error its code, framing 500, budgets 550, others 421', async () => {
  const server = new beepwire.Ctx();
  const l = await beepwire.createListener(server, '127.0.0.1', 0);
  const conn = await beepwire.Connection.connect(new beepwire.Ctx(), '127.0.0.1', l.port);
  assert.ok(conn.isOk());
  conn.pushError(new MgmtSyntaxError('bad attribute', 501));
  conn.pushError(new MgmtSyntaxError('not XML'));
  conn.pushError(new BeepReplyError(554, 'refused'));
  conn.pushError(new BeepFramingError('bad frame', 3, 1, 0));
  conn.pushError(new BeepError('too much', 'BEEP_ERR_BUDGET'));
  conn.pushError(new BeepError('slow', 'BEEP_ERR_TIMEOUT'));
  const got: Array<[number, string]> = [];
  for (let e = conn.popChannelError(); e !== null; e = conn.popChannelError()) got.push(e);
  assert.deepEqual(got, [
    [501, 'bad attribute'],
    [500, 'not XML'],
    [554, 'refused'],
    [500, 'bad frame'],
    [550, 'too much'],
    [421, 'slow'],
  ]);
  assert.ok(await conn.close());
  await server.exit();
});
