// docs/pyvortex.md cannot drift: every beepwire name in its tables must resolve, on the package,
// on a live instance (ctx, conn, listener, channel, frame, queue, pool), or, for option and
// property names of exported interfaces and types, in the compiled declarations; and every
// item of the PyVortex API must have a row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import * as beepwire from '../src/index.js';

const ROOT = new URL('../../', import.meta.url); // dist/test/ -> the repository
const DOC = readFileSync(new URL('docs/pyvortex.md', ROOT), 'utf8');
const STATUSES = new Set(['done', 'partial', 'n/a', 'skipped']);

interface Row {
  line: number;
  section: string;
  pyvortex: string;
  beepwire: string;
  status: string;
  notes: string;
}

/** The rows of every table of the document (header and separator rows excluded). */
function rows(): Row[] {
  const out: Row[] = [];
  let section = '';
  DOC.split('\n').forEach((text, i) => {
    if (text.startsWith('## ')) section = text.slice(3).trim();
    if (!text.startsWith('|') || /^\|\s*-/.test(text) || /^\|\s*PyVortex\s*\|/.test(text)) return;
    const cells = text
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    assert.equal(cells.length, 4, `docs/pyvortex.md:${i + 1} has 4 cells`);
    const [pyvortex, beepwire, status, notes] = cells as [string, string, string, string]; // four: asserted above
    out.push({ line: i + 1, section, pyvortex, beepwire, status, notes });
  });
  return out;
}

const spans = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
const IDENT = '[A-Za-z_$][\\w$]*';
const PATH = new RegExp(`^${IDENT}(\\.${IDENT})*$`);

/** Name paths a code span refers to: the callee of `a.b(...)` and the `x.y` paths in its arguments. */
function paths(span: string): string[] {
  const call = span.indexOf('(');
  const head = (call < 0 ? span : span.slice(0, call)).trim();
  const out = PATH.test(head) ? [head] : [];
  if (call >= 0) for (const m of span.slice(call).matchAll(new RegExp(`${IDENT}(\\.${IDENT})+`, 'g'))) out.push(m[0]);
  return out;
}

// ---- declarations (dist/src/**/*.d.ts) ----------------------------------------------------

const DTS: string[] = [];
(function walk(dir: URL): void {
  for (const name of readdirSync(dir)) {
    const p = new URL(name, dir);
    if (statSync(p).isDirectory()) walk(new URL(`${name}/`, dir));
    else if (name.endsWith('.d.ts')) DTS.push(readFileSync(p, 'utf8'));
  }
})(new URL('dist/src/', ROOT));

/**
 * Body of `interface Name` or `class Name` with what it extends, of `type Name = {...}`, or of
 * `type Name = A & B` (bases A, B); undefined when Name is not declared.
 */
function declaration(name: string): { body: string; bases: string[] } | undefined {
  for (const text of DTS) {
    const m =
      new RegExp(`(?:interface|class)\\s+${name}\\b(?:<[^>{]*>)?([^{;]*)\\{`).exec(text) ??
      new RegExp(`type\\s+${name}\\b(?:<[^>]*>)?\\s*=\\s*\\{`).exec(text);
    if (m !== null) {
      let depth = 1,
        i = m.index + m[0].length;
      const start = i;
      for (; i < text.length && depth > 0; i++) {
        if (text[i] === '{') depth++;
        else if (text[i] === '}') depth--;
      }
      const bases =
        /extends\s+([^{]*)/
          .exec(m[1] ?? '')?.[1]
          ?.split(',')
          .map((b) => b.trim().replace(/<.*$/, ''))
          .filter(Boolean) ?? [];
      return { body: text.slice(start, i - 1), bases };
    }
    const alias = new RegExp(`type\\s+${name}\\b(?:<[^>]*>)?\\s*=\\s*([^;]+);`).exec(text);
    if (alias !== null)
      return {
        body: '',
        bases: alias[1]!
          .split(/[&|]/)
          .map((b) => b.trim())
          .filter((b) => /^[A-Za-z_$][\w$]*$/.test(b)),
      };
  }
  return undefined;
}

/** True when the declared type `name` (or one it extends) has member `member`. */
function declaresMember(name: string, member: string, seen = new Set<string>()): boolean {
  if (seen.has(name)) return false;
  seen.add(name);
  const d = declaration(name);
  if (d === undefined) return false;
  // Members at the top level of the body: `name?:`, `readonly name:`, `name(`, `get name()`.
  if (new RegExp(`(^|[;\\n{])\\s*(?:static\\s+)?(?:readonly\\s+)?(?:get\\s+|set\\s+)?${member}\\??\\s*[:(<]`).test(d.body)) return true;
  return d.bases.some((b) => declaresMember(b, member, seen));
}

/** Modules of the namespaces the package exports, for their types (sasl.AuthHandler). */
const NAMESPACE_DTS: Record<string, string> = {
  tls: 'tls/tls',
  sasl: 'sasl/beep-sasl',
  alive: 'alive/alive',
  tunnel: 'tunnel/tunnel',
  xmlrpc: 'xmlrpc/beep-xmlrpc',
};
function namespaceExportsType(ns: string, name: string): boolean {
  const file = NAMESPACE_DTS[ns];
  if (file === undefined) return false;
  const text = readFileSync(new URL(`dist/src/${file}.d.ts`, ROOT), 'utf8');
  return (
    new RegExp(`export (?:declare )?(?:type|interface|class) ${name}\\b`).test(text) ||
    new RegExp(`export (?:type )?\\{[^}]*\\b${name}\\b[^}]*\\}`).test(text)
  );
}

// ---- resolution ---------------------------------------------------------------------------

/** Why `path` does not resolve, or undefined when it does. */
function unresolved(path: string, roots: Record<string, unknown>): string | undefined {
  const [first = '', ...rest] = path.split('.'); // split gives at least one element
  const runtime = first in roots ? roots[first] : (beepwire as Record<string, unknown>)[first];
  if (runtime === undefined) {
    // A type: Name or Name.member, in the declarations.
    if (declaration(first) === undefined) return `${first} is neither exported, an instance of the test, nor a declared type`;
    if (rest.length === 0) return undefined;
    if (rest.length > 1) return `${path}: only one member of a type is checked`;
    const member = rest[0]!; // exactly one: checked above
    return declaresMember(first, member) ? undefined : `${first} declares no ${member}`;
  }
  let v: unknown = runtime;
  let where = first;
  for (const [i, name] of rest.entries()) {
    const obj = v;
    if ((typeof obj === 'object' && obj !== null) || typeof obj === 'function') {
      if (name in (obj as object)) {
        v = (obj as Record<string, unknown>)[name];
        where += `.${name}`;
        continue;
      }
      // A class: instance members are declared on it, not on the constructor.
      const cls = typeof obj === 'function' ? (obj as { name: string }).name : undefined;
      if (cls !== undefined && i === rest.length - 1 && (name in (obj as { prototype: object }).prototype || declaresMember(cls, name)))
        return undefined;
      if (i === rest.length - 1 && first in NAMESPACE_DTS && rest.length === 1 && namespaceExportsType(first, name)) return undefined;
    }
    return `${where} has no ${name}`;
  }
  return undefined;
}

const ECHO = 'http://beepwire.test/pyvortex-table';

test('docs/pyvortex.md: every beepwire name resolves; every row has a status and, unless n/a or skipped, a name', async () => {
  const server = new beepwire.Ctx();
  beepwire.registerProfile(server, ECHO, {
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.reply(f.msgno, f.payload);
    },
  });
  const listener = await beepwire.createListener(server, '127.0.0.1', 0);
  const ctx = new beepwire.Ctx();
  const conn = await beepwire.Connection.connect(ctx, '127.0.0.1', listener.port);
  assert.ok(conn.isOk());
  const channel = (await conn.openChannel(0, ECHO))!;
  const frame = await channel.request('x');
  const pool = await conn.channelPoolNew(ECHO, 1);
  const queue = new beepwire.AsyncQueue();
  const roots: Record<string, unknown> = { ctx, conn, listener, channel, frame, pool, queue };
  const all = rows();
  assert.ok(all.length > 100, `${all.length} rows`);
  const problems: string[] = [];
  let checked = 0;
  for (const r of all) {
    if (!STATUSES.has(r.status)) problems.push(`line ${r.line}: status '${r.status}'`);
    const named = spans(r.beepwire).flatMap(paths);
    if (named.length === 0 && r.status !== 'n/a' && r.status !== 'skipped')
      problems.push(`line ${r.line}: ${r.status} but no beepwire name`);
    if ((r.status === 'n/a' || r.status === 'skipped' || r.status === 'partial') && r.notes.length < 10)
      problems.push(`line ${r.line}: ${r.status} needs a reason in the notes`);
    for (const p of named) {
      checked++;
      const why = unresolved(p, roots);
      if (why !== undefined) problems.push(`line ${r.line} (${r.section}): \`${p}\`: ${why}`);
    }
    // Names in the notes are checked when their root is known (a note may also name PyVortex or Python things).
    for (const p of spans(r.notes).flatMap(paths)) {
      const first = p.split('.')[0]!; // split gives at least one element
      if (!(first in roots) && !(first in beepwire) && declaration(first) === undefined) continue;
      checked++;
      const why = unresolved(p, roots);
      if (why !== undefined) problems.push(`line ${r.line} (${r.section}) notes: \`${p}\`: ${why}`);
    }
  }
  await conn.close();
  await server.exit();
  await ctx.exit();
  assert.deepEqual(problems, []);
  assert.ok(checked > 150, `${checked} names checked`);
});

test('docs/pyvortex.md has a row for every item of the PyVortex API', () => {
  // From py-vortex's method and attribute tables (LibVortex 1.1 py-vortex/src/*.c) and its
  // Python modules (vortex, vortex.sasl, vortex.tls, vortex.alive).
  const items = [
    'vortex.create_listener',
    'vortex.wait_listeners',
    'vortex.unlock_listeners',
    'vortex.register_profile',
    'vortex.queue_reply',
    'vortex.status_OK',
    'vortex.encoding_NONE',
    'vortex.encoding_BASE64',
    'vortex.Handle',
    'ctx.init',
    'ctx.exit',
    'ctx.new_event',
    'ctx.remove_event',
    'ctx.enable_too_long_notify_to_file',
    'ctx.log',
    'ctx.log2',
    'ctx.color_log',
    'ctx.ref_count',
    'conn.is_ok',
    'conn.open_channel',
    'conn.channel_pool_new',
    'conn.pop_channel_error',
    'conn.set_on_close',
    'conn.remove_on_close',
    'conn.find_by_uri',
    'conn.set_data',
    'conn.get_data',
    'conn.pool',
    'conn.block',
    'conn.is_blocked',
    'conn.close',
    'conn.shutdown',
    'conn.incref',
    'conn.decref',
    'conn.skip_conn_close',
    'conn.ref_count',
    'conn.id',
    'conn.ctx',
    'conn.error_msg',
    'conn.status',
    'conn.host',
    'conn.host_ip',
    'conn.port',
    'conn.server_name',
    'conn.local_addr',
    'conn.local_port',
    'conn.num_channels',
    'conn.role',
    'channel.send_msg',
    'channel.send_msg_more',
    'channel.send_rpy',
    'channel.send_rpy_more',
    'channel.send_err',
    'channel.send_err_more',
    'channel.send_ans',
    'channel.finalize_ans',
    'channel.set_frame_received',
    'channel.set_complete_flag',
    'channel.set_complete_frame_limit',
    'channel.get_reply',
    'channel.close',
    'channel.incref',
    'channel.decref',
    'channel.number',
    'channel.profile',
    'channel.is_ready',
    'channel.conn',
    'channel.set_serialize',
    'frame.id',
    'frame.type',
    'frame.msgno',
    'frame.msg_no',
    'frame.seqno',
    'frame.seq_no',
    'frame.ansno',
    'frame.ans_no',
    'frame.more_flag',
    'frame.payload_size',
    'frame.content_size',
    'frame.payload',
    'frame.content',
    'queue.push',
    'queue.pop',
    'queue.timedpop',
    'queue.items',
    'queue.length',
    'queue.waiters',
    'pool.next_ready',
    'pool.release',
    'pool.id',
    'pool.ctx',
    'pool.conn',
    'pool.channel_count',
    'pool.channel_available',
    'vortex.sasl.init',
    'vortex.sasl.is_authenticated',
    'vortex.sasl.start_auth',
    'vortex.sasl.method_used',
    'vortex.sasl.auth_id',
    'vortex.sasl.accept_mech',
    'vortex.sasl.PLAIN',
    'vortex.tls.init',
    'vortex.tls.start_tls',
    'vortex.tls.accept_tls',
    'vortex.tls.is_enabled',
    'vortex.tls.verify_cert',
    'vortex.alive.init',
    'vortex.alive.enable_check',
  ];
  const first = rows()
    .map((r) => r.pyvortex)
    .join('\n');
  const missing = items.filter(
    (name) =>
      !new RegExp(`\`${name.replace(/\./g, '\\.')}\\b`).test(first) && !first.includes(`\`${name} `) && !first.includes(`${name}\``),
  );
  assert.deepEqual(missing, []);
});
