// Summaries of repeated measurements on a noisy machine: the median and the spread (min…max), and
// ratios taken pairwise (each measurement against its neighbour of the same round), so that a burst
// of load from something else on the machine hits both sides of a ratio alike.

export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max − min) / median: 0.1 = the runs lie within 10% of the median's size. */
  readonly relativeSpread: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function summarize(values: readonly number[]): Summary {
  const m = median(values);
  const min = values.length > 0 ? Math.min(...values) : Number.NaN;
  const max = values.length > 0 ? Math.max(...values) : Number.NaN;
  return { n: values.length, median: m, min, max, relativeSpread: m === 0 ? 0 : (max - min) / m };
}

/** `median (min–max, n=…)` with `digits` decimals. */
export function formatSummary(s: Summary, digits = 2, unit = ''): string {
  const f = (v: number) => v.toFixed(digits);
  return `${f(s.median)}${unit} (${f(s.min)}–${f(s.max)}, n=${s.n})`;
}

/** Pairwise ratios a[i] / b[i]. */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  return a.flatMap((v, i) => {
    const d = b[i];
    return d === undefined || d === 0 ? [] : [v / d];
  });
}
