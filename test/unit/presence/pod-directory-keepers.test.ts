// Which pods keep the copies of what only Redis holds (PodDirectory.keepsLog): the LOG_KEEPERS
// longest-running live ones, so a deployment of hundreds of pods does not read the whole log hundreds
// of times. A registry that answers with a scripted list of other live pods stands in for Redis here.
import type { AppConfig } from '../../../src/config/app-config.js';
import { Readiness } from '../../../src/health/readiness.js';
import { LOG_KEEPERS, PodDirectory } from '../../../src/presence/application/pod-directory.js';
import type { PodBeat, PodRegistry, PodStatus } from '../../../src/presence/domain/pod-registry.port.js';

class ScriptedRegistry implements PodRegistry {
  others: PodStatus[] = [];

  async beat(status: PodStatus): Promise<PodBeat> {
    return { wasAbsent: false, live: [status, ...this.others].map((pod) => ({ ...pod, seenAt: Date.now() })), gone: [] };
  }

  async forgotten(): Promise<void> {}

  async leave(): Promise<void> {}
}

const other = (pod: string, startedAt: number): PodStatus => ({ pod, name: pod, startedAt, streamers: 0, viewers: 0, ready: true, draining: false });

test(`a pod keeps the log while fewer than ${LOG_KEEPERS} live pods started before it, and stops when enough did`, async () => {
  const registry = new ScriptedRegistry();
  const pods = new PodDirectory(registry, new Readiness(), { podId: 'me' } as AppConfig);
  // Before any beat: it knows no other pod, so it keeps.
  expect(pods.keepsLog()).toBe(true);
  const before = Date.now() - 60_000;
  const after = Date.now() + 60_000;
  registry.others = [other('old-1', before), other('young-1', after), other('young-2', after), other('young-3', after)];
  await pods.onApplicationBootstrap();
  try {
    expect(pods.keepsLog()).toBe(true);
    registry.others = [...registry.others, ...Array.from({ length: LOG_KEEPERS - 1 }, (_, i) => other(`old-${i + 2}`, before))];
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(pods.keepsLog()).toBe(false);
    // One of the older ones gone: it keeps again.
    registry.others = registry.others.filter((p) => p.pod !== 'old-1');
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(pods.keepsLog()).toBe(true);
  } finally {
    await pods.onApplicationShutdown();
  }
});

test("a pod's own earlier run, still listed after a SIGKILL, is not counted older than it", async () => {
  const registry = new ScriptedRegistry();
  const pods = new PodDirectory(registry, new Readiness(), { podId: 'me' } as AppConfig);
  const before = Date.now() - 60_000;
  // Two older pods, and this pod's previous run (POD_NAME 'me'), listed until its POD_TTL_MS runs out.
  // Counted, it made three older pods, and this pod dropped its copies of the log for those seconds.
  const previousRun: PodStatus = { ...other('me/0badc0de', before - 1_000), name: 'me' };
  registry.others = Array.from({ length: LOG_KEEPERS - 1 }, (_, i) => other(`old-${i + 1}`, before)).concat(previousRun);
  await pods.onApplicationBootstrap();
  try {
    expect(pods.keepsLog()).toBe(true);
  } finally {
    await pods.onApplicationShutdown();
  }
});
