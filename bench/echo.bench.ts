// Echo benchmark over 127.0.0.1, beepwire's listener and client in one process. beepwire (64 in
// flight, 1 and 8 channels, both peers with the raw handler form; at 64 B also a row with Frame
// handlers) runs beside raw baselines in the same run (bench/echo-raw.ts; their servers and
// clients in one child process of their own, bench/echo-raw-child.ts): a length-prefixed node:net echo that batches the replies of each read, a byte echo, and the
// length-prefixed echo over node:tls for the TLS rows, the ws package's own echo for the
// WebSocket rows; then 8 MiB messages and round trips
// with one message in flight. Every case runs BENCH_RUNS times (default 5), interleaved with
// its baselines so that load from other processes falls on both; each row shows median, min
// and max, and ratios are medians over medians. A beepwire row above a baseline means the
// baseline is broken (it is meant as a ceiling): the bench says so loudly.
// Env: BENCH_RUNS (5), BENCH_SECONDS (1 per run), BENCH_SIZES (64,4096,65536), BENCH_LARGE
// (8388608; 0 skips), BENCH_RTT (10000 round trips per run; 0 skips), BENCH_NO_TLS, BENCH_NO_WS,
// BEEPWIRE_CODEC (wasm|ref), BENCH_FRAME (sendFrameSize), BENCH_OUT (results directory).
// Writes bench/results/echo.json and echo.svg; prints PASS/FAIL per acceptance row (DESIGN.md
// "Performance targets"). Progress goes to stderr, one line per row.
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { Ctx, registerProfile, createListener, Connection, tls, type Channel, type WebSocketClientOptions } from '../src/index.js';
import { machineInfo, machineLine, runtimeInfo, machineBusySeconds } from './machine.js';
import { rawWsServer, rawWsEcho, cpuSince, type EchoResult } from './echo-raw.js';
import { rawBaselines, benchCertificates, MALLOC_ENV } from './echo-raw-child.js';
import {
  spread,
  throughputRow,
  rttRow,
  tableRow,
  ratioOf,
  pairedOf,
  verdict,
  chartSvg,
  pct,
  type Row,
  type Verdict,
} from './echo-report.js';

// The raw baselines' process runs with fixed glibc malloc thresholds (echo-raw-child.ts says
// why); beepwire's process runs under the same ones, or the ratios would favour the baselines.
if (process.env.MALLOC_MMAP_THRESHOLD_ === undefined) {
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, ...MALLOC_ENV },
  });
  process.exit(r.status ?? 1);
}

// Both peers use the raw handler form (ProfileHandlers.rawReceived, docs/profiles.md), the one
// meant for hot profiles, with a Frame handler beside it for messages of several frames or reads
// (echoed in their pieces: replyRaw(msgno, contentParts)); FRAME_PROFILE is the echo with Frame
// handlers only, as the PyVortex manual writes it, for one row beside it.
const PROFILE = 'http://beepwire.bench/echo';
const FRAME_PROFILE = 'http://beepwire.bench/echo-frames';
const IN_FLIGHT = 64;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const SIZES = (process.env.BENCH_SIZES ?? '64,4096,65536')
  .split(',')
  .filter((s) => s.trim() !== '')
  .map(Number);
const LARGE = Number(process.env.BENCH_LARGE ?? 8 << 20);
const LARGE_IN_FLIGHT = 4; // 32 MiB outstanding: within a session's default 64 MiB inbound budget
const RTT_COUNT = Number(process.env.BENCH_RTT ?? 10_000);
const TLS_SIZES = process.env.BENCH_NO_TLS ? [] : [64, 65536];
const WS_SIZES = process.env.BENCH_NO_WS ? [] : [64, 65536];
const codecImpl = (process.env.BEEPWIRE_CODEC ?? 'wasm') as 'wasm' | 'ref';
const ctxOpts = process.env.BENCH_FRAME ? { sendFrameSize: Number(process.env.BENCH_FRAME) } : {};
const OUT = process.env.BENCH_OUT ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../bench/results');
if (!Number.isInteger(RUNS) || RUNS < 1) throw new RangeError('BENCH_RUNS must be a positive integer');

// ---- beepwire ----------------------------------------------------------------------------
async function beepEcho(
  port: number | string,
  size: number,
  channels: number,
  inFlight: number,
  caPem?: string,
  frames = false,
  websocket?: WebSocketClientOptions,
): Promise<EchoResult> {
  const ctx = new Ctx({ codec: codecImpl, ...ctxOpts });
  // A string is a ws:// URL: the same session over BEEP-over-WebSocket.
  const conn =
    typeof port === 'string'
      ? await Connection.connect(ctx, port, websocket === undefined ? {} : { websocket })
      : await Connection.connect(ctx, '127.0.0.1', port);
  if (caPem !== undefined && !(await tls.startTls(conn, { serverName: 'localhost', ca: caPem })))
    throw new Error(`TLS failed: ${conn.popChannelError()}`);
  const profile = frames ? FRAME_PROFILE : PROFILE;
  const chans = (await Promise.all(Array.from({ length: channels }, () => conn.openChannel(0, profile)))) as Channel[];
  const body = new Uint8Array(size).fill(0x61);
  let msgs = 0;
  // The run ends on a timer, not a clock read per reply: the raw client reads the clock once
  // per read (64 replies), and a read per message (~30 ns) is the harness's cost, not beepwire's.
  let running = true;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const timer = setTimeout(() => {
    running = false;
  }, SECONDS * 1000);
  await new Promise<void>((resolve) => {
    let outstanding = 0;
    for (const ch of chans) {
      const onReply = (c: Channel): void => {
        msgs++;
        outstanding--;
        if (running) {
          c.sendMsg(body);
          outstanding++;
        } else if (outstanding === 0) resolve();
      };
      ch.setFrameReceived((_c, c) => onReply(c)); // with the raw one: the messages it does not take
      if (!frames) ch.setRawReceived(onReply);
    }
    for (let i = 0; i < inFlight; i++) {
      chans[i % chans.length]!.sendMsg(body);
      outstanding++;
    }
  });
  clearTimeout(timer);
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuSince(c0);
  await conn.close();
  return { msgs, secs, cpu };
}

async function beepRtt(port: number, count: number): Promise<number[]> {
  const ctx = new Ctx({ codec: codecImpl, ...ctxOpts });
  const conn = await Connection.connect(ctx, '127.0.0.1', port);
  const ch = (await conn.openChannel(0, PROFILE))!;
  const body = new Uint8Array(64).fill(0x61);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await ch.request(body);
    times.push(performance.now() - t);
  }
  await conn.close();
  return times;
}

// ---- set-up ------------------------------------------------------------------------------
const serverCtx = new Ctx({ codec: codecImpl, ...ctxOpts });
registerProfile(serverCtx, PROFILE, {
  rawReceived: (ch, type, msgno, _ansno, bytes, offset, length) => {
    if (type === 'MSG') ch.replyRaw(msgno, bytes, offset, length);
  },
  // Messages of several frames or reads (the large sizes): echoed as the pieces they came in.
  frameReceived: (_c, ch, f) => {
    if (f.type === 'MSG') ch.replyRaw(f.msgno, f.contentParts);
  },
});
registerProfile(serverCtx, FRAME_PROFILE, {
  frameReceived: (_c, ch, f) => {
    if (f.type === 'MSG') ch.sendRpy(f.payload, undefined, f.msgNo);
  },
});
const { ca, leaf } = benchCertificates(); // made in another process (see there why)
tls.acceptTls(serverCtx, { certHandler: () => leaf.cert, keyHandler: () => leaf.key });
const listener = await createListener(serverCtx, '127.0.0.1', 0);
const wsListener = await createListener(serverCtx, '127.0.0.1', 0, { websocket: true });
const wsUrl = `ws://127.0.0.1:${wsListener.port}/`;
// The same with the ws package reading the frames on both sides (frameReader 'ws': how ws://
// ran before beepwire read them itself), for a comparison within one run.
const wsReadsListener = await createListener(serverCtx, '127.0.0.1', 0, { websocket: { frameReader: 'ws' } });
const wsReadsUrl = `ws://127.0.0.1:${wsReadsListener.port}/`;
// The raw baselines run in a process of their own (bench/echo-raw-child.ts says why).
const baselines = await rawBaselines({ cert: leaf.cert, key: leaf.key, ca: ca.cert });
/** Messages in flight each raw echo ran with (the fastest of a short trial, see bestInFlight). */
const rawFlights = new Map<string, number>();
const rawRun = async (mode: 'byte' | 'length-prefixed' | 'tls', size: number, inFlight: number): Promise<EchoResult> => {
  const r = await baselines.echo(mode, size, inFlight, SECONDS);
  rawFlights.set(`${mode} ${sizeName(size)}`, r.inFlight);
  return r;
};
const rawWs = WS_SIZES.length > 0 ? await rawWsServer() : undefined;

const t0 = performance.now();
const stamp = (): string => `[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s]`;
const progress = (s: string): void => {
  process.stderr.write(`${stamp()} ${s}\n`);
};
const pct1 = (r: number): string => `${(r * 100).toFixed(1)} %`;
const sizeName = (n: number): string =>
  n >= 1 << 20 && n % (1 << 20) === 0 ? `${n >> 20} MiB` : n >= 1024 && n % 1024 === 0 ? `${n >> 10} KiB` : `${n} B`;

interface Case {
  id: string;
  label: string;
  kind: 'raw' | 'beepwire';
  run: () => Promise<EchoResult>;
}

/** Runs the cases of a group RUNS times, interleaved; one progress line per finished row. */
async function group(name: string, size: number, cases: Case[]): Promise<Row[]> {
  const rates = cases.map(() => [] as number[]);
  const cpu = cases.map(() => [] as number[]);
  for (let r = 0; r < RUNS; r++) {
    for (let i = 0; i < cases.length; i++) {
      const b0 = machineBusySeconds(),
        w0 = performance.now();
      const res = await cases[i]!.run();
      others.push(Math.max(0, machineBusySeconds() - b0 - res.cpu) / ((performance.now() - w0) / 1000));
      rates[i]!.push(res.msgs / res.secs);
      cpu[i]!.push((res.cpu / res.msgs) * 1e6);
    }
    if (process.stderr.isTTY) process.stderr.write(`${stamp()} ${name}: run ${r + 1}/${RUNS}\r`);
  }
  return cases.map((c, i) => {
    const row = throughputRow({ id: c.id, label: c.label, group: name, kind: c.kind, size }, rates[i]!, cpu[i]!);
    const m = row.msgsPerSec!;
    progress(
      `${c.label}: ${Math.round(m.median).toLocaleString('en-US')} msgs/s median (${Math.round(m.min).toLocaleString('en-US')}..${Math.round(m.max).toLocaleString('en-US')}), ${row.mbPerSec!.median.toFixed(1)} MB/s, ${row.cpuUsPerMsg!.median.toFixed(2)} CPU µs/msg`,
    );
    return row;
  });
}

console.log(machineLine());
console.log(
  `codec: ${codecImpl}; ${IN_FLIGHT} in flight (${LARGE_IN_FLIGHT} for ${sizeName(LARGE)}); ${RUNS} runs x ${SECONDS} s per case, interleaved; listener and client in one process (raw baselines in a child process)`,
);
if (RUNS < 5) console.log(`NOTE: ${RUNS} run(s) per case: figures are indicative only (acceptance needs >= 5).`);

const rows: Row[] = [];
const warnings: string[] = [];
const others: number[] = []; // cores other processes used during each throughput run
const byId = (id: string): Row | undefined => rows.find((r) => r.id === id);
/** Ratios of a beepwire row to its baselines; a ratio above 1 means the baseline is broken. */
function compare(row: Row, baselines: Array<[string, Row | undefined]>): void {
  row.ratios = {};
  row.pairedRatios = {};
  for (const [name, b] of baselines) {
    if (b === undefined) continue;
    const r = ratioOf(row, b);
    row.ratios[name] = r;
    row.pairedRatios[name] = pairedOf(row, b);
    if (r > 1)
      warnings.push(`"${row.label}" reached ${(r * 100).toFixed(1)} % of "${b.label}": that baseline is not a ceiling, it is BROKEN`);
  }
}

const sizes = [
  ...SIZES.map((s) => ({ size: s, inFlight: IN_FLIGHT, channels: [1, 8] })),
  ...(LARGE > 0 ? [{ size: LARGE, inFlight: LARGE_IN_FLIGHT, channels: [1] }] : []),
];
for (const { size, inFlight, channels } of sizes) {
  const n = sizeName(size);
  const cases: Case[] = [
    { id: `byte-${size}`, label: `raw byte echo ${n}`, kind: 'raw', run: () => rawRun('byte', size, inFlight) },
    {
      id: `lp-${size}`,
      label: `raw length-prefixed ${n}`,
      kind: 'raw',
      run: () => rawRun('length-prefixed', size, inFlight),
    },
    ...channels.map(
      (c): Case => ({
        id: `beep-${size}-${c}`,
        label: `beepwire ${n}, ${c} ch`,
        kind: 'beepwire',
        run: () => beepEcho(listener.port, size, c, inFlight),
      }),
    ),
    ...(size === 64
      ? [
          {
            id: 'beep-64-1-frames',
            label: 'beepwire 64 B, 1 ch, Frame handlers',
            kind: 'beepwire' as const,
            run: () => beepEcho(listener.port, size, 1, inFlight, undefined, true),
          },
        ]
      : []),
  ];
  rows.push(...(await group(n, size, cases)));
  for (const id of [...channels.map((c) => `beep-${size}-${c}`), ...(size === 64 ? ['beep-64-1-frames'] : [])])
    compare(byId(id)!, [
      ['raw length-prefixed', byId(`lp-${size}`)],
      ['raw byte echo', byId(`byte-${size}`)],
    ]);
}
for (const size of TLS_SIZES) {
  const n = sizeName(size);
  rows.push(
    ...(await group(`TLS ${n}`, size, [
      {
        id: `tls-${size}`,
        label: `raw node:tls length-prefixed ${n}`,
        kind: 'raw',
        run: () => rawRun('tls', size, IN_FLIGHT),
      },
      {
        id: `beep-tls-${size}`,
        label: `beepwire TLS ${n}, 1 ch`,
        kind: 'beepwire',
        run: () => beepEcho(listener.port, size, 1, IN_FLIGHT, ca.cert),
      },
    ])),
  );
  compare(byId(`beep-tls-${size}`)!, [['raw node:tls', byId(`tls-${size}`)]]);
}
// BEEP over WebSocket (issue 11): the same echo through the ws listener, beside TCP in one group,
// with the ws library's own echo (raw messages, no BEEP) and the raw length-prefixed TCP echo for
// reference: what the library costs over TCP is beyond what beepwire can win back. The ws echo
// is not a ceiling (its client's ws.send() allocates a masked copy per message, beepwire's client
// masks into reused buffers), so beating it raises no warning.
for (const size of WS_SIZES) {
  const n = sizeName(size);
  rows.push(
    ...(await group(`ws ${n}`, size, [
      {
        id: `ws-lp-${size}`,
        label: `raw length-prefixed ${n} (ws group)`,
        kind: 'raw',
        run: () => rawRun('length-prefixed', size, IN_FLIGHT),
      },
      { id: `ws-raw-${size}`, label: `raw ws echo ${n}`, kind: 'raw', run: () => rawWsEcho(rawWs!.port, size, IN_FLIGHT, SECONDS) },
      {
        id: `beep-tcp-${size}`,
        label: `beepwire TCP ${n}, 1 ch`,
        kind: 'beepwire',
        run: () => beepEcho(listener.port, size, 1, IN_FLIGHT),
      },
      { id: `beep-ws-${size}`, label: `beepwire ws:// ${n}, 1 ch`, kind: 'beepwire', run: () => beepEcho(wsUrl, size, 1, IN_FLIGHT) },
      {
        id: `beep-ws-wsreads-${size}`,
        label: `beepwire ws:// ${n}, 1 ch, ws reads`,
        kind: 'beepwire',
        run: () => beepEcho(wsReadsUrl, size, 1, IN_FLIGHT, undefined, false, { frameReader: 'ws' }),
      },
    ])),
  );
  const ws = byId(`beep-ws-${size}`)!;
  const tcp = byId(`beep-tcp-${size}`)!;
  const raw = byId(`ws-raw-${size}`)!;
  const lp = byId(`ws-lp-${size}`)!;
  const wsReads = byId(`beep-ws-wsreads-${size}`)!;
  ws.ratios = { 'beepwire TCP': ratioOf(ws, tcp), 'raw ws echo': ratioOf(ws, raw), 'ws reads': ratioOf(ws, wsReads) };
  ws.pairedRatios = { 'beepwire TCP': pairedOf(ws, tcp), 'raw ws echo': pairedOf(ws, raw), 'ws reads': pairedOf(ws, wsReads) };
  wsReads.ratios = { 'beepwire TCP': ratioOf(wsReads, tcp) };
  wsReads.pairedRatios = { 'beepwire TCP': pairedOf(wsReads, tcp) };
  raw.ratios = { 'raw length-prefixed': ratioOf(raw, lp) };
  raw.pairedRatios = { 'raw length-prefixed': pairedOf(raw, lp) };
  tcp.ratios = { 'raw length-prefixed': ratioOf(tcp, lp) };
  tcp.pairedRatios = { 'raw length-prefixed': pairedOf(tcp, lp) };
  progress(
    `ws ${n} ratios (medians): beepwire ws/TCP ${pct1(ws.ratios['beepwire TCP']!)} (with ws reading: ${pct1(wsReads.ratios['beepwire TCP']!)}), beepwire ws / raw ws ${pct1(ws.ratios['raw ws echo']!)}, raw ws / raw TCP ${pct1(raw.ratios['raw length-prefixed']!)}, beepwire TCP / raw TCP ${pct1(tcp.ratios['raw length-prefixed']!)}`,
  );
}
if (RTT_COUNT > 0) {
  const p = { raw: { p50: [] as number[], p99: [] as number[] }, beep: { p50: [] as number[], p99: [] as number[] } };
  for (let r = 0; r < RUNS; r++) {
    const rr = await baselines.rtt(RTT_COUNT);
    const br = await beepRtt(listener.port, RTT_COUNT);
    p.raw.p50.push(pct(rr, 50));
    p.raw.p99.push(pct(rr, 99));
    p.beep.p50.push(pct(br, 50));
    p.beep.p99.push(pct(br, 99));
  }
  const raw = rttRow(
    { id: 'rtt-raw', label: 'round trip raw length-prefixed 64 B', group: 'RTT', kind: 'raw', size: 64 },
    p.raw.p50,
    p.raw.p99,
  );
  const beep = rttRow(
    { id: 'rtt-beep', label: 'round trip beepwire 64 B (request)', group: 'RTT', kind: 'beepwire', size: 64 },
    p.beep.p50,
    p.beep.p99,
  );
  beep.ratios = { 'p50 vs raw': beep.p50us!.median / raw.p50us!.median, 'p99 vs raw': beep.p99us!.median / raw.p99us!.median };
  for (const [k, v] of Object.entries(beep.ratios))
    if (v < 1) warnings.push(`beepwire round trip ${k.slice(0, 3)} is ${v.toFixed(2)}x the raw one: the raw round-trip baseline is BROKEN`);
  for (const r of [raw, beep])
    progress(
      `${r.label}: p50 ${r.p50us!.median.toFixed(1)} µs (${r.p50us!.min.toFixed(1)}..${r.p50us!.max.toFixed(1)}), p99 ${r.p99us!.median.toFixed(1)} µs (${r.p99us!.min.toFixed(1)}..${r.p99us!.max.toFixed(1)})`,
    );
  rows.push(raw, beep);
}

// ---- report ------------------------------------------------------------------------------
const tp = rows.filter((r) => r.msgsPerSec !== undefined);
console.table(tp.map(tableRow));
const rtt = rows.filter((r) => r.p50us !== undefined);
if (rtt.length > 0) console.table(rtt.map(tableRow));

const verdicts: Verdict[] = [];
const ratio = (id: string, name: string): number | undefined => byId(id)?.ratios?.[name];
const accept = (name: string, v: number | undefined, target: number, higher: boolean, percent: boolean): void => {
  if (v !== undefined) verdicts.push(verdict(name, v, target, higher, percent));
};
accept('64 B, 1 ch vs raw length-prefixed', ratio('beep-64-1', 'raw length-prefixed'), 0.5, true, true);
accept('64 B, 1 ch vs raw byte echo', ratio('beep-64-1', 'raw byte echo'), 0.35, true, true);
accept('64 KiB, 1 ch vs raw length-prefixed (MB/s)', ratio('beep-65536-1', 'raw length-prefixed'), 0.95, true, true);
accept(`${sizeName(LARGE)} messages vs raw length-prefixed (MB/s)`, ratio(`beep-${LARGE}-1`, 'raw length-prefixed'), 0.9, true, true);
accept('TLS 64 KiB vs raw node:tls (MB/s)', ratio('beep-tls-65536', 'raw node:tls'), 0.8, true, true);
accept('WebSocket 64 KiB vs TCP (MB/s)', ratio('beep-ws-65536', 'beepwire TCP'), 0.7, true, true);
accept('round trip p50 vs raw', ratio('rtt-beep', 'p50 vs raw'), 1.1, false, false);
accept('round trip p99 vs raw', ratio('rtt-beep', 'p99 vs raw'), 1.5, false, false);
if (others.length > 0) {
  const o = spread(others);
  console.log(
    `\nother processes on this machine used ${o.median.toFixed(2)} cores (median; ${o.min.toFixed(2)}..${o.max.toFixed(2)}) of ${cpus().length} during the runs${o.median > 0.25 ? ': expect noise in msgs/s; CPU µs/msg is steadier' : ''}`,
  );
}
console.log(
  `\nraw echoes ran with the messages in flight that went fastest in a short trial (1, 2, 4, ... up to the beepwire rows' count): ${[...rawFlights].map(([k, v]) => `${k} ${v}`).join(', ')}`,
);
console.log('\nacceptance (DESIGN.md "Performance targets"; medians of the runs above):');
for (const v of verdicts) console.log(`  ${v.pass ? 'PASS' : 'FAIL'}  ${v.name}: ${v.shown}`);
if (warnings.length > 0) {
  const bar = '!'.repeat(78);
  const text = [
    bar,
    '!!! BASELINE BROKEN: beepwire beat a raw baseline. A raw baseline must be a ceiling;',
    '!!! the ratios below are not evidence of anything until it is fixed.',
    ...warnings.map((w) => `!!! ${w}`),
    bar,
  ].join('\n');
  console.log(`\n${text}`);
  process.stderr.write(`${text}\n`);
}

const date = new Date().toISOString();
const result = {
  bench: 'echo',
  date,
  machine: machineInfo(),
  node: process.version,
  runtime: runtimeInfo(),
  settings: {
    runs: RUNS,
    secondsPerRun: SECONDS,
    inFlight: IN_FLIGHT,
    largeInFlight: LARGE_IN_FLIGHT,
    rttCount: RTT_COUNT,
    codec: codecImpl,
    sendFrameSize: ctxOpts.sendFrameSize,
    oneProcess: true,
    rawInFlight: Object.fromEntries(rawFlights),
  },
  rows,
  acceptance: verdicts,
  warnings,
  otherProcessesCores: others.length > 0 ? { ...spread(others), runs: others } : null,
};
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'echo.json'), `${JSON.stringify(result, null, 2)}\n`);
const m = machineInfo();
writeFileSync(
  join(OUT, 'echo.svg'),
  chartSvg(
    'beepwire echo vs raw Node baselines (medians)',
    `${m.cpu} x${m.cores}, ${m.os}, node ${process.version}, ${date.slice(0, 10)}, ${RUNS} runs x ${SECONDS} s`,
    verdicts,
  ),
);
console.log(`\nresults: ${join(OUT, 'echo.json')}, ${join(OUT, 'echo.svg')}`);

baselines.close();
await rawWs?.close();
await serverCtx.exit();
process.exit(0);
