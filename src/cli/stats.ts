// Round-trip statistics for `beepwire ping` and `beepwire bench`.

/** Summary of a set of durations in ms. */
export interface RttStats {
  /** Samples. */
  count: number;
  /** Fastest. */
  min: number;
  /** Median. */
  median: number;
  /** 99th percentile (nearest rank). */
  p99: number;
  /** Slowest. */
  max: number;
  /** Mean. */
  mean: number;
}

/** Summarises durations (ms); an empty list gives zeros. */
export function rttStats(samples: number[]): RttStats {
  if (samples.length === 0) return { count: 0, min: 0, median: 0, p99: 0, max: 0, mean: 0 };
  const s = [...samples].sort((a, b) => a - b);
  const rank = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? 0;
  return {
    count: s.length,
    min: s[0] ?? 0,
    median: rank(0.5),
    p99: rank(0.99),
    max: s[s.length - 1] ?? 0,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}
