// `beepwire ping`: like beepcore-java's Bing — greeting and offered profiles, a channel start,
// N timed round trips, min/median/p99, a clean close. Exit status 0 only if all of it worked.
import { readFileSync } from 'node:fs';
import { Ctx, tls, sasl } from '../index.js';
import { Output, connectTarget, failure, profileUri, logEvents } from './common.js';
import { rttStats } from './stats.js';
import { userPass } from './users.js';

/** Options of `beepwire ping`. */
export interface PingOptions {
  /** Profile to start (echo, sink or a URI). */
  profile: string;
  /** Round trips. */
  count: number;
  /** Octets per message. */
  size: number;
  /** Start TLS first. */
  tls: boolean;
  /** CA file (PEM) that verifies the listener; default: the platform's store. */
  ca?: string;
  /** Skip certificate verification. */
  insecure: boolean;
  /** SASL mechanism to authenticate with. */
  sasl?: string;
  /** NAME:PASSWORD for SASL (default beepwire:beepwire). */
  user?: string;
  /** Give up after this many ms per step. */
  timeout: number;
  /** JSON lines instead of text. */
  json: boolean;
  /** Also print the engine's events (refusals, session errors, TLS/SASL outcomes). */
  log?: boolean;
}

/** Pings `target` (HOST:PORT, or a ws:// / wss:// URL); resolves with the exit code. */
export async function ping(target: string, o: PingOptions): Promise<number> {
  const out = new Output(o.json);
  const uri = profileUri(o.profile);
  const ctx = new Ctx({ connectTimeout: o.timeout, greetingTimeout: o.timeout });
  if (o.log === true) logEvents(ctx, out);
  const { conn, host, port } = await connectTarget(ctx, target);
  const failed = failure(out, conn);
  if (!conn.isOk()) return failed('connect');
  out.event(`connected to ${host}:${port}; peer offers: ${conn.remoteProfiles.join(', ') || '(none)'}`, {
    event: 'greeting',
    host,
    port,
    profiles: conn.remoteProfiles,
  });
  if (o.tls) {
    const ok = await tls.startTls(conn, {
      ...(o.ca ? { ca: readFileSync(o.ca, 'utf8') } : {}),
      rejectUnauthorized: !o.insecure,
      timeout: o.timeout,
    });
    if (!ok) return failed('tls');
    out.event(`TLS up (${conn.tls?.protocol ?? 'protocol not exposed'})`, { event: 'tls', protocol: conn.tls?.protocol });
  }
  if (o.sasl !== undefined) {
    const [authId, password] = userPass(o.user ?? 'beepwire:beepwire');
    if (!(await sasl.startAuth(conn, o.sasl, { authId, password }))) return failed('sasl');
    out.event(`authenticated as ${authId} with ${o.sasl}`, { event: 'sasl', mech: o.sasl, authId });
  }
  const ch = await conn.openChannel(0, uri);
  if (ch === null) return failed('start');
  out.event(`channel ${ch.number} started: ${uri}`, { event: 'start', channel: ch.number, profile: uri });
  const payload = new Uint8Array(o.size);
  for (let i = 0; i < payload.length; i++) payload[i] = 0x41 + (i % 26);
  const samples: number[] = [];
  for (let i = 0; i < o.count; i++) {
    const t0 = performance.now();
    try {
      const f = await ch.request(payload, { timeout: o.timeout });
      if (f.type !== 'RPY') {
        out.fail(`round trip ${i + 1}: ${f.type} ${f.text.slice(0, 200)}`, { event: 'rtt', seq: i + 1, type: f.type });
        conn.shutdown();
        return 1;
      }
    } catch (e) {
      conn.pushError(e);
      return failed('rtt');
    }
    samples.push(performance.now() - t0);
  }
  const s = rttStats(samples);
  const f3 = (n: number): string => n.toFixed(3);
  out.event(
    `${s.count} round trips of ${o.size} octets: min ${f3(s.min)} ms, median ${f3(s.median)} ms, p99 ${f3(s.p99)} ms, max ${f3(s.max)} ms`,
    { event: 'stats', size: o.size, ...s },
  );
  if (!(await conn.close())) return failed('close');
  out.event('session released', { event: 'close', ok: true });
  return 0;
}
