// Statistics, acceptance rows, JSON and SVG output of bench/echo.bench.ts. Every figure is a
// median with its min and max over the runs (never a best run); a ratio is the ratio of two
// medians taken in the same process and the same session of runs.

/** Median, min and max of a set of runs. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Median (mean of the middle two for an even count), min and max. */
export function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  const median = s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]! };
}

/** Percentile p (0..100) of samples (nearest rank). */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** One measured row: a throughput case (msgs/s) or a round-trip case (µs). */
export interface Row {
  id: string;
  label: string;
  group: string;
  /** 'raw' rows are baselines; 'beepwire' rows are compared with them. */
  kind: 'raw' | 'beepwire';
  size: number;
  /** Messages per second per run (throughput rows). */
  msgsPerSec?: Spread & { runs: number[] };
  /** MB/s (10^6 octets of payload one way) per run. */
  mbPerSec?: Spread;
  /** CPU µs the process (client and server) spent per echoed message, per run. */
  cpuUsPerMsg?: Spread & { runs: number[] };
  /** Round-trip percentiles per run, µs. */
  p50us?: Spread & { runs: number[] };
  p99us?: Spread & { runs: number[] };
  /** Ratios against baselines (beepwire rows): name -> median/median. */
  ratios?: Record<string, number>;
  /** The same per run (each run against the baseline run just before it): less sensitive to load that comes and goes. */
  pairedRatios?: Record<string, Spread>;
}

/** An acceptance criterion and its verdict. */
export interface Verdict {
  name: string;
  value: number;
  target: number;
  higherIsBetter: boolean;
  pass: boolean;
  shown: string;
}

/** Throughput row from per-run results. */
export function throughputRow(base: Omit<Row, 'msgsPerSec' | 'mbPerSec' | 'cpuUsPerMsg'>, rates: number[], cpuUs?: number[]): Row {
  const s = spread(rates);
  return {
    ...base,
    msgsPerSec: { ...s, runs: rates },
    mbPerSec: { median: (s.median * base.size) / 1e6, min: (s.min * base.size) / 1e6, max: (s.max * base.size) / 1e6 },
    ...(cpuUs === undefined ? {} : { cpuUsPerMsg: { ...spread(cpuUs), runs: cpuUs } }),
  };
}

/** Round-trip row from per-run percentiles (ms in, µs out). */
export function rttRow(base: Omit<Row, 'p50us' | 'p99us'>, p50ms: number[], p99ms: number[]): Row {
  const us = (xs: number[]): number[] => xs.map((x) => x * 1000);
  return { ...base, p50us: { ...spread(us(p50ms)), runs: us(p50ms) }, p99us: { ...spread(us(p99ms)), runs: us(p99ms) } };
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtMb = (n: number): string => n.toFixed(n >= 100 ? 0 : 1);

/** A printable table row. */
export function tableRow(r: Row): Record<string, string> {
  if (r.msgsPerSec !== undefined) {
    const m = r.msgsPerSec,
      b = r.mbPerSec!;
    const out: Record<string, string> = {
      case: r.label,
      'msgs/s median': fmtInt(m.median),
      'min..max': `${fmtInt(m.min)}..${fmtInt(m.max)}`,
      'MB/s median': fmtMb(b.median),
      'MB/s min..max': `${fmtMb(b.min)}..${fmtMb(b.max)}`,
    };
    if (r.cpuUsPerMsg !== undefined) out['CPU µs/msg'] = r.cpuUsPerMsg.median.toFixed(r.cpuUsPerMsg.median >= 100 ? 0 : 2);
    out.ratios = Object.entries(r.ratios ?? {})
      .map(([k, v]) => {
        const p = r.pairedRatios?.[k];
        const paired = p === undefined ? '' : ` (per run ${(p.min * 100).toFixed(0)}..${(p.max * 100).toFixed(0)} %)`;
        return `${(v * 100).toFixed(1)} % of ${k}${paired}`;
      })
      .join('; ');
    return out;
  }
  const p50 = r.p50us!,
    p99 = r.p99us!;
  return {
    case: r.label,
    'p50 µs median': p50.median.toFixed(1),
    'p50 min..max': `${p50.min.toFixed(1)}..${p50.max.toFixed(1)}`,
    'p99 µs median': p99.median.toFixed(1),
    'p99 min..max': `${p99.min.toFixed(1)}..${p99.max.toFixed(1)}`,
    ratios: Object.entries(r.ratios ?? {})
      .map(([k, v]) => `${v.toFixed(2)}x ${k}`)
      .join('; '),
  };
}

/** Throughput ratio (median over median) of a beepwire row against a baseline row. */
export function ratioOf(r: Row, base: Row): number {
  return r.msgsPerSec!.median / base.msgsPerSec!.median;
}

/** Per-run ratios of a beepwire row against a baseline row run in the same round. */
export function pairedOf(r: Row, base: Row): Spread {
  const a = r.msgsPerSec!.runs,
    b = base.msgsPerSec!.runs;
  return spread(a.map((x, i) => x / b[i]!));
}

/** An acceptance verdict: `value` compared with `target` (a ratio). */
export function verdict(name: string, value: number, target: number, higherIsBetter: boolean, asPercent: boolean): Verdict {
  const pass = higherIsBetter ? value >= target : value <= target;
  const shown = asPercent
    ? `${(value * 100).toFixed(1)} % (target ${higherIsBetter ? '>=' : '<='} ${(target * 100).toFixed(0)} %)`
    : `${value.toFixed(2)}x (target ${higherIsBetter ? '>=' : '<='} ${target.toFixed(2)}x)`;
  return { name, value, target, higherIsBetter, pass, shown };
}

/** A horizontal bar chart of the acceptance ratios (value vs target), hand-rolled SVG. */
export function chartSvg(title: string, subtitle: string, verdicts: Verdict[]): string {
  const W = 760,
    rowH = 30,
    left = 300,
    right = 60,
    top = 58;
  const H = top + verdicts.length * rowH + 40;
  // Scale: ratios as percent of the baseline; round trips as a "x raw" factor, drawn so that
  // the bar shows raw/beepwire (higher is better everywhere).
  const shownValue = (v: Verdict): number => (v.higherIsBetter ? v.value : 1 / v.value);
  const shownTarget = (v: Verdict): number => (v.higherIsBetter ? v.target : 1 / v.target);
  const maxV = Math.max(1.2, ...verdicts.map(shownValue));
  const x = (v: number): number => left + (Math.min(v, maxV) / maxV) * (W - left - right);
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="38" fill="#555">${esc(subtitle)}</text>`,
  ];
  for (const t of [0.5, 1]) {
    parts.push(`<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${H - 30}" stroke="#bbb" stroke-dasharray="3,3"/>`);
    parts.push(`<text x="${x(t)}" y="${H - 16}" text-anchor="middle" fill="#555">${t * 100} % of raw</text>`);
  }
  verdicts.forEach((v, i) => {
    const y = top + i * rowH;
    const val = shownValue(v),
      tgt = shownTarget(v);
    parts.push(`<text x="${left - 8}" y="${y + 16}" text-anchor="end">${esc(v.name)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 4}" width="${x(val) - left}" height="${rowH - 10}" fill="${v.pass ? '#3a9d5d' : '#d0453a'}"/>`);
    parts.push(`<line x1="${x(tgt)}" y1="${y}" x2="${x(tgt)}" y2="${y + rowH - 2}" stroke="#000" stroke-width="2"/>`);
    parts.push(
      `<text x="${Math.max(x(val), x(tgt)) + 6}" y="${y + 16}" fill="#222">${esc(v.higherIsBetter ? `${(v.value * 100).toFixed(0)} %` : `${v.value.toFixed(2)}x`)} ${v.pass ? 'PASS' : 'FAIL'}</text>`,
    );
  });
  parts.push(
    `<text x="${W - 10}" y="${H - 4}" text-anchor="end" fill="#777" font-size="10">bar: beepwire median / raw median (round trips: raw / beepwire); black tick: target</text>`,
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
