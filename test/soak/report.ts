// The soak's figures at the end: a table for the terminal and RELIABILITY.md, and an SVG chart of online
// streamers, events per second and each pod's RSS over the run.

export interface Sample {
  /** Seconds since the soak started. */
  readonly t: number;
  readonly online: number;
  readonly eventsPerSecond: number;
  /** RSS in MB by pod name (absent while the pod is down). */
  readonly rssMb: Readonly<Record<string, number>>;
  readonly heapMb: Readonly<Record<string, number>>;
}

/** Least-squares slope of `values` over `times`, per minute; 0 with fewer than 3 points. */
export function slopePerMinute(points: ReadonlyArray<{ t: number; value: number }>): number {
  if (points.length < 3) return 0;
  const n = points.length;
  const meanT = points.reduce((sum, p) => sum + p.t, 0) / n;
  const meanV = points.reduce((sum, p) => sum + p.value, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - meanT) * (p.value - meanV);
    den += (p.t - meanT) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

/** One polyline per series over the run, in a 900 × 300 box with a legend; y scaled per panel. */
export function chartSvg(samples: readonly Sample[]): string {
  const width = 900;
  const panel = 90;
  const end = Math.max(1, ...samples.map((s) => s.t));
  const x = (t: number): string => ((t / end) * (width - 60) + 50).toFixed(1);
  const line = (values: Array<{ t: number; v: number }>, top: number, color: string): string => {
    const max = Math.max(1, ...values.map((p) => p.v));
    const points = values.map((p) => `${x(p.t)},${(top + panel - (p.v / max) * (panel - 10)).toFixed(1)}`).join(' ');
    return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points}"/><text x="4" y="${top + 12}" font-size="10">max ${max.toFixed(0)}</text>`;
  };
  const pods = [...new Set(samples.flatMap((s) => Object.keys(s.rssMb)))].sort();
  const colors = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c'];
  const parts = [
    `<text x="50" y="12" font-size="12">online streamers</text>`,
    line(samples.map((s) => ({ t: s.t, v: s.online })), 15, '#1d4ed8'),
    `<text x="50" y="117" font-size="12">events per second</text>`,
    line(samples.map((s) => ({ t: s.t, v: s.eventsPerSecond })), 120, '#b45309'),
    `<text x="50" y="222" font-size="12">pod RSS (MB): ${pods.map((pod, i) => `<tspan fill="${colors[i % colors.length]}">${pod}</tspan>`).join(' ')}</text>`,
    ...pods.map((pod, i) => line(samples.filter((s) => s.rssMb[pod] !== undefined).map((s) => ({ t: s.t, v: s.rssMb[pod]! })), 225, colors[i % colors.length]!)),
    `<text x="${width - 60}" y="335" font-size="10">${Math.round(end)} s</text>`,
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="340" font-family="sans-serif">${parts.join('')}</svg>\n`;
}

/** A Markdown table of the figures, each with its bound. */
export function table(rows: ReadonlyArray<{ figure: string; value: string; bound: string; ok: boolean | null }>): string {
  return [
    '| figure | value | must be | ok |',
    '| --- | --- | --- | --- |',
    ...rows.map(({ figure, value, bound, ok }) => `| ${figure} | ${value} | ${bound} | ${ok === null ? '—' : ok ? 'yes' : '**no**'} |`),
  ].join('\n');
}
