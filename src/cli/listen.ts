// `beepwire listen`: a listener with echo and sink profiles, optional TLS (given or generated
// certificates) and SASL, logging sessions and channels as they open and close.
import { writeFileSync, readFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ctx, registerProfile, createListener, waitListeners, tls, sasl, type Connection } from '../index.js';
import * as certs from '../tls/certs.js';
import { ECHO_URI, SINK_URI, Output, profileUri, logEvents } from './common.js';
import { credentials, type UserTable } from './users.js';

/** Options of `beepwire listen`. */
export interface ListenOptions {
  /** Address to bind. */
  host: string;
  /** Port (0: any free one). */
  port: number;
  /** Profiles: echo, sink, or URIs (served as echo). */
  profile: string[];
  /** Offer TLS. */
  tls: boolean;
  /** Certificate file (PEM); generated with --tls when absent. */
  cert?: string;
  /** Key file (PEM). */
  key?: string;
  /** SASL mechanisms to offer. */
  sasl: string[];
  /** One user, NAME:PASSWORD. */
  user?: string;
  /** Users file (one NAME:PASSWORD per line). */
  users?: string;
  /** Also take BEEP over WebSocket on the same port (port sharing). */
  ws: boolean;
  /** JSON lines instead of text. */
  json: boolean;
  /** Also print the engine's events (refusals, session errors, TLS/SASL outcomes). */
  log?: boolean;
}

/** Runs the listener until SIGINT/SIGTERM; resolves with the exit code. */
export async function listen(o: ListenOptions): Promise<number> {
  const out = new Output(o.json);
  const ctx = new Ctx();
  if (o.log === true) logEvents(ctx, out);
  for (const name of o.profile) {
    const uri = profileUri(name);
    const sink = uri === SINK_URI;
    registerProfile(ctx, uri, {
      start: (i) => {
        out.event(`channel ${i.channelNum} started: ${uri} (session ${i.conn.id})`, {
          event: 'channel-start',
          session: i.conn.id,
          channel: i.channelNum,
          profile: uri,
        });
        return true;
      },
      closed: (n, conn) => out.event(`channel ${n} closed (session ${conn.id})`, { event: 'channel-close', session: conn.id, channel: n }),
      frameReceived: (_c, ch, f) => {
        if (f.type === 'MSG') ch.sendRpy(sink ? '' : f.payload, undefined, f.msgNo);
      },
    });
  }
  if (o.tls) {
    let cert: string, key: string;
    if (o.cert !== undefined && o.key !== undefined) {
      cert = readFileSync(o.cert, 'utf8');
      key = readFileSync(o.key, 'utf8');
    } else {
      const ca = certs.generateCa({ commonName: 'beepwire listen CA' });
      const leaf = certs.generateLeaf(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] });
      ({ cert, key } = leaf);
      const caFile = join(tmpdir(), `beepwire-ca-${process.pid}.pem`);
      writeFileSync(caFile, ca.cert);
      out.event(`TLS certificate generated; its CA is in ${caFile} (beepwire ping --tls --ca ${caFile})`, { event: 'tls-ca', caFile });
    }
    tls.acceptTls(ctx, { certHandler: () => cert, keyHandler: () => key });
  }
  if (o.sasl.length > 0) {
    const users: UserTable = credentials(o.user, o.users);
    for (const mech of o.sasl) {
      if (sasl.mechName(mech) === sasl.OTP) {
        // One-time passwords from each user's password as the pass phrase, 500 logins each
        // (RFC 2289 keyinit), kept in memory for this process only.
        const store = new sasl.OtpMemoryStore();
        for (const [name, password] of users) store.set(name, sasl.otpInit('md5', password, `bw${randomInt(10_000)}`, 500));
        sasl.acceptMech(ctx, mech, (_conn: Connection, p) => store.entry(p.authId));
        continue;
      }
      sasl.acceptMech(
        ctx,
        mech,
        (_conn: Connection, p) => {
          const known = users.get(p.authId ?? '');
          if (known === undefined) return null;
          return p.password === undefined ? known : p.password === known;
        },
        { allowPlainInClear: !o.tls },
      );
    }
  }
  const l = await createListener(ctx, o.host, o.port, {
    // --ws: plain BEEP and ws:// on one port, told apart by the first octets.
    ...(o.ws ? { websocket: { share: true } } : {}),
    onAccept: (conn) => {
      out.event(`session ${conn.id} from ${conn.host}:${conn.port}`, {
        event: 'session-open',
        session: conn.id,
        host: conn.host,
        port: conn.port,
      });
      conn.setOnClose((c, err) =>
        out.event(`session ${c.id} closed${err ? `: ${err.message}` : ''}`, {
          event: 'session-close',
          session: c.id,
          ...(err ? { error: err.message } : {}),
        }),
      );
    },
  });
  if (!l.isOk()) {
    out.fail(`cannot listen on ${o.host}:${o.port}: ${l.errorMsg}`, { event: 'listen', error: l.errorMsg });
    return 1;
  }
  const offered = [...ctx.profiles.keys()];
  const ws = o.ws ? ` (and ws://${o.host}:${l.port}/)` : '';
  out.event(`listening on ${o.host}:${l.port}${ws}; profiles: ${offered.join(', ')}`, {
    event: 'listening',
    host: o.host,
    port: l.port,
    websocket: o.ws,
    profiles: offered,
    echo: ECHO_URI,
    sink: SINK_URI,
  });
  await waitListeners(ctx, { unlockOnSignal: true });
  await ctx.exit();
  return 0;
}
