import type { PodBeat, PodRegistry, PodStatus } from '../domain/pod-registry.port.js';

/** The registry of a single node (embedded mode): the one pod, always alive. */
export class MemoryPodRegistry implements PodRegistry {
  private status: (PodStatus & { seenAt: number }) | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  async beat(status: PodStatus): Promise<PodBeat> {
    const wasAbsent = this.status === null;
    this.status = { ...status, seenAt: this.now() };
    return { wasAbsent, live: [this.status], gone: [] };
  }

  async forgotten(): Promise<void> {}

  async leave(): Promise<void> {
    this.status = null;
  }
}
