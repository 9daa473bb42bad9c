import { readFileSync } from 'node:fs';
import { startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING } from '../helpers/presence-clients.js';
import { parsePrometheus } from '../helpers/prometheus.js';

useCleanup();

interface Panel {
  readonly title: string;
  readonly targets: ReadonlyArray<{ readonly expr: string }>;
}

test('every metric the Grafana dashboard queries is one the app exposes', async () => {
  const dashboard = JSON.parse(readFileSync(new URL('../../k8s/grafana/presence-dashboard.json', import.meta.url), 'utf8')) as { panels: Panel[] };
  const queried = new Set<string>();
  for (const panel of dashboard.panels) {
    expect(panel.targets.length).toBeGreaterThan(0);
    for (const { expr } of panel.targets) {
      for (const [name] of expr.matchAll(/\b(?:presence|process|nodejs)_[a-z_]+/g)) queried.add(name);
    }
  }
  expect(queried.size).toBeGreaterThan(10);

  const app = await startApp({ env: FAST_TIMING });
  // Histograms and counters with labels appear once observed; their HELP lines are always there.
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const exposed = new Set([...parsePrometheus(text).map((s) => s.name), ...[...text.matchAll(/^# HELP (\S+)/gm)].map((m) => m[1]!)]);
  const missing = [...queried].filter((name) => !exposed.has(name) && !exposed.has(name.replace(/_(bucket|sum|count)$/, '')));
  expect(missing).toEqual([]);
});
