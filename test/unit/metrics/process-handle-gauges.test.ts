import { readdirSync } from 'node:fs';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { openDescriptors, registerProcessHandleGauges, REPLACED_DEFAULT_METRICS } from '../../../src/metrics/process-handle-gauges.js';

/** Name, help, type and label names of each replaced metric, as a registry exports them. */
async function shapes(registry: Registry) {
  const metrics = await registry.getMetricsAsJSON();
  return metrics
    .filter((metric) => (REPLACED_DEFAULT_METRICS as readonly string[]).includes(metric.name))
    .map(({ name, help, type, values }) => ({ name, help, type, labels: [...new Set(values.flatMap((value) => Object.keys(value.labels)))].sort() }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

test('the replacements export what prom-client\'s defaults do: names, help, types and labels, default labels included', async () => {
  const stock = new Registry();
  stock.setDefaultLabels({ pod: 'p' });
  collectDefaultMetrics({ register: stock });
  const ours = new Registry();
  ours.setDefaultLabels({ pod: 'p' });
  collectDefaultMetrics({ register: ours });
  registerProcessHandleGauges(ours);

  const expected = await shapes(stock);
  expect(expected.map((metric) => metric.name)).toEqual(['nodejs_active_handles', 'nodejs_active_handles_total', 'process_open_fds']);
  expect(await shapes(ours)).toEqual(expected);
});

test('open descriptors: the size of /proc/self/fd, and where a kernel reports 0 (before 6.2) the listing less its own', () => {
  const byStat = openDescriptors();
  // /proc/self/fdinfo has an entry per descriptor and reports size 0 on every kernel: the older way.
  const byListing = openDescriptors('/proc/self/fdinfo');
  const listedHere = readdirSync('/proc/self/fd').length - 1;
  expect(byStat).toBeGreaterThan(2);
  expect(byListing).toBe(byStat);
  expect(listedHere).toBe(byStat);
});
