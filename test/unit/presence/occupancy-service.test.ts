// OccupancyService against the memory store, with one fault injected where a process boundary would be:
// a notice claim that Redis ran but whose answer never came back.
import { OccupancyService } from '../../../src/presence/application/occupancy.service.js';
import { PodDirectory } from '../../../src/presence/application/pod-directory.js';
import type { AppConfig } from '../../../src/config/app-config.js';
import { Readiness } from '../../../src/health/readiness.js';
import type { NoticeDecision } from '../../../src/presence/domain/occupancy.js';
import { MemoryOccupancyStore } from '../../../src/presence/infrastructure/memory-occupancy.store.js';
import { MemoryPodRegistry } from '../../../src/presence/infrastructure/memory-pod-registry.js';

/** The memory store, whose next `claimNotices` is applied and then answered with an error (a lost reply). */
class LosingOneAnswer extends MemoryOccupancyStore {
  loseNext = false;

  override async claimNotices(counts: ReadonlyMap<string, number>, force?: boolean): Promise<Map<string, NoticeDecision>> {
    const decisions = await super.claimNotices(counts, force);
    if (!this.loseNext) return decisions;
    this.loseNext = false;
    throw new Error('Command timed out');
  }
}

test('a claim applied but unanswered: the count is still sent, once the retry forces it past the recorded notice', async () => {
  const store = new LosingOneAnswer();
  const pods = new PodDirectory(new MemoryPodRegistry(), new Readiness(), { podId: 'pod-a' } as AppConfig);
  const occupancy = new OccupancyService(store, pods);
  const sent: Array<[string, number]> = [];
  occupancy.countViewersWith(() => 3, () => ['s']);
  occupancy.sendNoticesWith((streamerId, viewers) => sent.push([streamerId, viewers]));

  store.loseNext = true;
  occupancy.changed('s');
  await occupancy.flush();
  expect(sent).toEqual([]);
  // Asked again after a flush interval (1 s) with `force`; the notice recorded may have gone out, so the
  // interval still holds: sent when it ends (5 s after the lost one), once.
  await new Promise((resolve) => setTimeout(resolve, 4_000));
  expect(sent).toEqual([]);
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  expect(sent).toEqual([['s', 3]]);
  occupancy.onApplicationShutdown();
}, 10_000);
