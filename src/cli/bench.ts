// `beepwire bench`: the echo load against any BEEP listener (any implementation: the profile
// URI is an option), K messages in flight per channel, a progress bar on stderr, and the
// result as text, JSON or an SVG chart.
import { writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { Ctx, type Channel } from '../index.js';
import { Output, connectTarget, failure, profileUri } from './common.js';
import { rttStats, type RttStats } from './stats.js';
import { barChart } from './chart.js';

/** Options of `beepwire bench`. */
export interface BenchOptions {
  /** Profile that echoes (echo, sink or a URI). */
  profile: string;
  /** Message sizes in octets (one run each). */
  size: number[];
  /** Seconds per size. */
  seconds: number;
  /** Messages in flight per channel. */
  inflight: number;
  /** Channels. */
  channels: number;
  /** SVG chart file, if wanted. */
  svg?: string;
  /** JSON instead of text. */
  json: boolean;
}

/** One size's outcome. */
export interface BenchRow {
  /** Octets per message. */
  size: number;
  /** Messages echoed. */
  messages: number;
  /** Messages per second. */
  msgsPerSec: number;
  /** Payload megabytes (10^6) per second, one direction. */
  mbPerSec: number;
  /** Round trips of a sample of the messages, ms. */
  rtt: RttStats;
}

/** Draws a progress bar on stderr (only on a terminal, and never in --json mode). */
function progress(enabled: boolean, label: string, fraction: number): void {
  if (!enabled) return;
  const width = 30,
    filled = Math.round(Math.min(1, fraction) * width);
  process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(fraction * 100)}%`);
  if (fraction >= 1) process.stderr.write('\n');
}

/** Keeps `inflight` requests going on `ch` until `deadline`; counts replies and samples RTTs. */
async function drive(
  ch: Channel,
  payload: Uint8Array,
  inflight: number,
  deadline: number,
  count: { n: number; rtts: number[] },
): Promise<void> {
  const lane = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const f = await ch.request(payload, { timeout: 30_000 });
      if (f.type !== 'RPY') throw new Error(`${f.type} instead of RPY: ${f.text.slice(0, 120)}`);
      count.n++;
      if (count.rtts.length < 100_000 && (count.n & 15) === 0) count.rtts.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
}

/** Runs the bench against `target`; resolves with the exit code. */
export async function bench(target: string, o: BenchOptions): Promise<number> {
  const out = new Output(o.json);
  const ctx = new Ctx();
  const { conn } = await connectTarget(ctx, target);
  const fail = failure(out, conn);
  if (!conn.isOk()) return fail('connect');
  const uri = profileUri(o.profile);
  const chans: Channel[] = [];
  for (let i = 0; i < o.channels; i++) {
    const ch = await conn.openChannel(0, uri);
    if (ch === null) return fail('start');
    chans.push(ch);
  }
  const rows: BenchRow[] = [];
  const tty = !o.json && process.stderr.isTTY === true;
  for (const size of o.size) {
    const payload = new Uint8Array(size).fill(0x61);
    const count = { n: 0, rtts: [] as number[] };
    const t0 = performance.now(),
      deadline = t0 + o.seconds * 1000;
    const ticker = setInterval(() => progress(tty, `${size} B`, (performance.now() - t0) / (o.seconds * 1000)), 200);
    try {
      await Promise.all(chans.map((ch) => drive(ch, payload, o.inflight, deadline, count)));
    } catch (e) {
      clearInterval(ticker);
      conn.pushError(e);
      return fail('echo');
    }
    clearInterval(ticker);
    progress(tty, `${size} B`, 1);
    const secs = (performance.now() - t0) / 1000;
    const row: BenchRow = {
      size,
      messages: count.n,
      msgsPerSec: count.n / secs,
      mbPerSec: (count.n * size) / secs / 1e6,
      rtt: rttStats(count.rtts),
    };
    rows.push(row);
    out.event(
      `${size} B: ${Math.round(row.msgsPerSec).toLocaleString('en-US')} msgs/s, ${row.mbPerSec.toFixed(1)} MB/s, RTT median ${row.rtt.median.toFixed(3)} ms, p99 ${row.rtt.p99.toFixed(3)} ms`,
      { event: 'row', ...row },
    );
  }
  await conn.close();
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    os: release(),
    node: process.version,
    date: new Date().toISOString(),
  };
  out.event(
    `target ${target}, profile ${uri}, ${o.channels} channel(s) x ${o.inflight} in flight, ${o.seconds} s per size; ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`,
    { event: 'summary', target, profile: uri, channels: o.channels, inflight: o.inflight, seconds: o.seconds, machine, rows },
  );
  if (o.svg !== undefined) {
    writeFileSync(
      o.svg,
      barChart(
        `beepwire bench: ${target}`,
        rows.map((r) => ({ label: `${r.size} B`, value: r.msgsPerSec, note: `${r.mbPerSec.toFixed(1)} MB/s` })),
        'msgs/s',
      ),
    );
    out.event(`chart written to ${o.svg}`, { event: 'svg', file: o.svg });
  }
  return 0;
}
