import { decideNotice, type LastNotice, type NoticeDecision, OCCUPANCY_KEY_TTL_MS, totalOf } from '../domain/occupancy.js';
import type { OccupancyStore } from '../domain/occupancy-store.port.js';

/** Occupancy in this process's memory: single node only (embedded mode), where the one pod sees every viewer. */
export class MemoryOccupancyStore implements OccupancyStore {
  /** streamer id → pod → count; a streamer no pod counts has no entry. */
  private readonly counts = new Map<string, Map<string, number>>();
  /** `keptAt`: when last sent or found current; kept OCCUPANCY_KEY_TTL_MS from then, as in Redis. */
  private readonly notices = new Map<string, LastNotice & { keptAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async record(pod: string, counts: ReadonlyMap<string, number>, counted: (pod: string) => boolean): Promise<Map<string, number>> {
    for (const [streamerId, count] of counts) {
      const byPod = this.counts.get(streamerId) ?? new Map<string, number>();
      if (count > 0) byPod.set(pod, count);
      else byPod.delete(pod);
      if (byPod.size > 0) this.counts.set(streamerId, byPod);
      else this.counts.delete(streamerId);
    }
    return this.totals([...counts.keys()], counted);
  }

  async totals(streamerIds: readonly string[], counted: (pod: string) => boolean): Promise<Map<string, number>> {
    return new Map(streamerIds.map((id) => [id, totalOf(this.counts.get(id) ?? [], counted)]));
  }

  async claimNotices(counts: ReadonlyMap<string, number>, force = false): Promise<Map<string, NoticeDecision>> {
    const now = this.now();
    const decisions = new Map<string, NoticeDecision>();
    for (const [streamerId, viewers] of counts) {
      const last = this.notices.get(streamerId) ?? null;
      const decision = decideNotice(last, viewers, now, force);
      if (decision.send) this.notices.set(streamerId, { viewers, at: now, keptAt: now });
      else if (last !== null) this.notices.set(streamerId, { ...last, keptAt: now });
      decisions.set(streamerId, decision);
    }
    this.forgetOldNotices(now);
    return decisions;
  }

  async forgetPod(pod: string): Promise<string[]> {
    const counted: string[] = [];
    for (const [streamerId, byPod] of this.counts) {
      if (!byPod.delete(pod)) continue;
      counted.push(streamerId);
      if (byPod.size === 0) this.counts.delete(streamerId);
    }
    return counted;
  }

  /** Bounded memory: a notice no one has asked about for the key TTL is forgotten (its next count is then news). */
  private forgetOldNotices(now: number): void {
    if (this.notices.size < 1_024) return;
    for (const [streamerId, notice] of this.notices) if (now - notice.keptAt > OCCUPANCY_KEY_TTL_MS) this.notices.delete(streamerId);
  }
}
