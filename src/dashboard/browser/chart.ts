/** A point of the online chart: when (ms) and how many. */
export interface ChartPoint {
  readonly at: number;
  readonly online: number;
}

/**
 * The SVG path of the online count over `[from, to]`, in a `width` × `height` box, the y axis from 0 to
 * the highest count (at least 1), and that ceiling. Points outside the window are left out.
 */
export function chartPath(points: readonly ChartPoint[], from: number, to: number, width: number, height: number): { path: string; ceiling: number } {
  const inside = points.filter(({ at }) => at >= from && at <= to).sort((a, b) => a.at - b.at);
  const ceiling = Math.max(1, ...inside.map(({ online }) => online));
  const x = (at: number): number => ((at - from) / Math.max(1, to - from)) * width;
  const y = (online: number): number => height - (online / ceiling) * height;
  const path = inside.map(({ at, online }, i) => `${i === 0 ? 'M' : 'L'}${x(at).toFixed(1)},${y(online).toFixed(1)}`).join(' ');
  return { path, ceiling };
}
