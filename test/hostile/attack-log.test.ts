// Log injection: strings a peer chooses (its greeting's profile URIs, a SASL identity, an error
// text, a reply payload) reach consoleLogger's lines and the CLI's text output. Printed raw, a
// control character rewrites the reader's terminal (ANSI/OSC escapes, C1 CSI) or forges a log
// line (CR, LF); bidi overrides reorder what the reader sees. Every such character must come
// out escaped, visibly, and each event must stay one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  Ctx,
  type Connection,
  registerProfile,
  createListener,
  consoleLogger,
  formatEvent,
  sasl,
  type BeepEvent,
} from '../../src/index.js';
import { runtimeName } from '../../src/transport/select.js';
import { greeted, startRaw, MIME } from '../sasl/hostile.js';

/** What a terminal must never receive from a peer: controls (tab too), format characters (bidi, zero-width), lone surrogates, line/paragraph separators. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;
/** A peer string with one of each kind. */
const EVIL = 'x\x1b]0;owned\x07\x1b[2J\rbeepwire sasl:ok authId=root\n\x9b31m\x7f\u202eevil\u2028\ttab\ud800';

const clean = (line: string, what: string): void => {
  const m = UNSAFE.exec(line);
  assert.equal(m, null, `${what}: U+${m?.[0].codePointAt(0)?.toString(16).padStart(4, '0')} printed raw in ${JSON.stringify(line)}`);
};

test('formatEvent escapes control characters in every peer-chosen field (strings, lists, errors)', () => {
  const ctx = new Ctx();
  const conn = { id: 1 } as Connection;
  const events: BeepEvent[] = [
    { type: 'sasl:fail', ctx, conn, role: 'listener', mechanism: 'OTP', authId: EVIL, code: 535, text: EVIL },
    { type: 'sasl:fail', ctx, conn, role: 'listener', mechanism: 'PLAIN', authId: '\x1b[2J', code: 535, text: 'no-spaces\x9b2J' },
    { type: 'sasl:ok', ctx, conn, role: 'listener', mechanism: 'PLAIN', authId: 'admin\u200b', authorizationId: '\x1b]8;;http://x\x07' },
    { type: 'connection:ready', ctx, conn, profiles: ['http://ok/a', EVIL, 'http://b/\x9b'], reset: false },
    { type: 'tls:ok', ctx, conn, role: 'listener', verified: false, verifyError: EVIL, peerName: '\x1b[32mroot' },
    {
      type: 'channel:refused',
      ctx,
      conn,
      number: 1,
      request: 'start',
      code: 550,
      text: EVIL,
      by: 'peer',
      profiles: [EVIL],
    },
    { type: 'connection:close', ctx, conn, error: Object.assign(new Error(EVIL), { name: 'E\x1b[0m', code: 'C\n' }) },
  ];
  for (const e of events) {
    const line = formatEvent(e);
    clean(line, e.type);
    // Nothing is lost: the escape shows what was sent.
    if (e.type === 'sasl:fail' && e.authId === EVIL) assert.ok(line.includes('\\u001b]0;owned\\u0007'), line);
    if (e.type === 'connection:ready') assert.ok(line.includes('\\u009b'), line);
  }
  // Ordinary text is left as it was (no quoting of a plain name, UTF-8 letters kept).
  assert.equal(
    formatEvent({ type: 'sasl:ok', ctx, conn, role: 'listener', mechanism: 'PLAIN', authId: 'José' }),
    'beepwire sasl:ok conn=1 role=listener mechanism=PLAIN authId=José',
  );
});

test('a peer on the wire cannot put raw control characters into the listener log (greeting, OTP identity)', async () => {
  const lines: string[] = [];
  const ctx = new Ctx({ logger: consoleLogger({ write: (l) => lines.push(l), time: false, color: true }) });
  sasl.acceptMech(ctx, 'OTP', () => null);
  const l = await createListener(ctx, '127.0.0.1', 0);
  try {
    const p = await greeted(l.port); // our greeting is plain; the start below carries the identity
    // authzid NUL authcid, base64 in the blob: any UTF-8, escapes included.
    const id = Buffer.from(`\x1b]0;owned\x07\0root\x1b[2J\nbeepwire sasl:ok authId=root\x9b`).toString('base64');
    const r = await startRaw(p, 1, 'http://iana.org/beep/SASL/OTP', `<blob>${id}</blob>`);
    assert.equal(r.kw, 'ERR');
    // And a second session whose greeting advertises hostile profile URIs (XML allows LF and C1 by reference).
    const { RawPeer, greetingPayload } = await import('../session/raw.js');
    const q = await RawPeer.connect(l.port);
    await q.waitFor('</greeting>');
    await q.send(q.frame('RPY', 0, 0, greetingPayload(['http://a/&#10;beepwire sasl:ok authId=root', 'http://b/&#x9b;31m'])));
    const deadline = Date.now() + 5000;
    while (!lines.some((x) => x.includes('connection:ready') && x.includes('http://b/')) || !lines.some((x) => x.includes('sasl:fail'))) {
      if (Date.now() > deadline) throw new Error(`events missing: ${JSON.stringify(lines)}`);
      await new Promise((res) => setTimeout(res, 5));
    }
    p.socket.destroy();
    q.socket.destroy();
  } finally {
    await ctx.exit();
  }
  for (const line of lines) {
    // The logger's own colour codes frame the line; nothing else of that kind may appear.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the logger's colour escapes
    const body = line.replace(/^\x1b\[\d+m/, '').replace(/\x1b\[0m$/, '');
    clean(body, 'listener log');
  }
  assert.ok(
    lines.some((x) => x.includes('sasl:fail') && x.includes('\\u001b[2J')),
    'the identity is shown, escaped',
  );
});

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const NODE = runtimeName() === 'node' ? process.execPath : 'node';

/** Runs `beepwire ping` to completion (bounded). */
function ping(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    // NO_COLOR: the CLI's own colours (picocolors turns them on under CI=true) are not the
    // peer's; only what the peer chose must come out escaped.
    const p = spawn(NODE, [MAIN, 'ping', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '',
      err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}

test('cli ping: a hostile listener (greeting profiles, an ERR reply payload) cannot write control characters to the terminal', async () => {
  const ECHO = 'http://beepwire.dev/profiles/echo';
  const EVIL_URI = `http://evil/\x9b2J\u200b\u{e0041}${'\n'}connected to 10.0.0.1:1; all is fine`;
  const ctx = new Ctx();
  registerProfile(ctx, EVIL_URI);
  registerProfile(ctx, ECHO, {
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendErr(`${MIME}\x1b]0;owned\x07\x1b[2J\x1b[31mFAKE\rround trip 1: RPY ok\x9b`, undefined, f.msgNo);
    },
  });
  const l = await createListener(ctx, '127.0.0.1', 0);
  try {
    const r = await ping([`127.0.0.1:${l.port}`, '--count', '1', '--log']);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /round trip 1: ERR/);
    for (const line of `${r.out}${r.err}`.split('\n').filter((x) => x !== '')) clean(line, 'cli output');
    assert.ok(!/^connected to 10\.0\.0\.1/m.test(r.out), 'no forged line');
    // --json: the same escapes, and every line is still JSON that gives back what the peer sent.
    const j = await ping([`127.0.0.1:${l.port}`, '--count', '1', '--log', '--json']);
    assert.equal(j.code, 1, j.err);
    const lines = j.out.split('\n').filter((x) => x !== '');
    for (const line of lines) clean(line, 'cli --json output');
    const greeting = lines.map((x) => JSON.parse(x) as { event: string; profiles?: string[] }).find((x) => x.event === 'greeting');
    // XML attribute normalisation turns the LF into a space: the rest arrives as sent.
    assert.ok(greeting?.profiles?.includes(EVIL_URI.replace('\n', ' ')), JSON.stringify(greeting));
  } finally {
    await ctx.exit();
  }
});
