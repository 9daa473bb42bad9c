// Percentiles and summaries of latency samples.

/** Nearest-rank percentile (p in [0, 100]) of an ascending array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** { count, min, p50, p90, p99, max, mean } of `values` (ms), rounded to 0.01. */
export function summarize(values) {
  const sorted = Float64Array.from(values.filter(Number.isFinite)).sort();
  if (sorted.length === 0) return { count: 0, min: null, p50: null, p90: null, p99: null, max: null, mean: null };
  let sum = 0;
  for (const value of sorted) sum += value;
  const r = (value) => Math.round(value * 100) / 100;
  return {
    count: sorted.length,
    min: r(sorted[0]),
    p50: r(percentile(sorted, 50)),
    p90: r(percentile(sorted, 90)),
    p99: r(percentile(sorted, 99)),
    max: r(sorted[sorted.length - 1]),
    mean: r(sum / sorted.length),
  };
}

/** The median of the finite `values` (the mean of the middle two for an even count), or null when there is none. */
export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** a / b, or null when either is missing or b is 0. */
export function ratio(a, b) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}
