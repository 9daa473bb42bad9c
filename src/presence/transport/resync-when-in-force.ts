/** How long it keeps waiting for the channels; past that, Redis is down, and its recovery resyncs everyone. */
const GIVE_UP_AFTER_MS = 30_000;

/** What this needs of a socket: whether it is still there, and a way to tell it to subscribe again. */
interface ResyncTarget {
  readonly connected: boolean;
  emit(event: 'resync'): unknown;
}

/**
 * Viewer sockets answered a subscribe before the pod's channel subscriptions for it were in force (the
 * wait timed out: after a Redis restart every pod subscribes its channels again while thousands of
 * viewers resubscribe). An event published meanwhile misses this pod, so once those subscriptions are in
 * force each such socket is told `resync`, and subscribes again for fresh snapshots (RELIABILITY,
 * finding 25: 46 transitions lost to viewers after a Redis restart).
 *
 * One wait serves every socket: each wait covers the subscriptions asked for before it began, so a
 * socket added during a wait is told after the next one.
 */
export class ResyncWhenInForce<S extends ResyncTarget> {
  private readonly behind = new Set<S>();
  private waiting = false;

  /** @param settled resolves true once every subscription asked for so far is in force, false after its own timeout */
  constructor(private readonly settled: () => Promise<boolean>) {}

  add(socket: S): void {
    this.behind.add(socket);
    if (!this.waiting) void this.run();
  }

  /** Sockets still waiting to be told (diagnostics, tests). */
  get pending(): number {
    return this.behind.size;
  }

  private async run(): Promise<void> {
    this.waiting = true;
    try {
      while (this.behind.size > 0) {
        const batch = [...this.behind];
        const giveUpAt = Date.now() + GIVE_UP_AFTER_MS;
        let inForce = false;
        while (!inForce && Date.now() < giveUpAt) inForce = await this.settled();
        for (const socket of batch) {
          this.behind.delete(socket);
          if (inForce && socket.connected) socket.emit('resync');
        }
      }
    } finally {
      this.waiting = false;
    }
  }
}
