/**
 * How long it keeps waiting for the channels. Each wait covers what was asked for when it began, so under
 * a steady stream of new subscriptions it may never see all of them in force: past this, the sockets are
 * told `resync` anyway (a subscribe again costs a snapshot read; one still too early is added again).
 */
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
 * socket added during a wait (again, or for the first time) is told after the next one.
 */
export class ResyncWhenInForce<S extends ResyncTarget> {
  private readonly behind = new Set<S>();
  private waiting = false;

  /**
   * @param settled resolves true once every subscription asked for so far is in force, false after its own timeout
   * @param giveUpAfterMs @default GIVE_UP_AFTER_MS
   */
  constructor(
    private readonly settled: () => Promise<boolean>,
    private readonly giveUpAfterMs = GIVE_UP_AFTER_MS,
  ) {}

  add(socket: S): void {
    this.behind.add(socket);
    if (!this.waiting) void this.run();
  }

  /** A socket that disconnected: nothing to tell it. */
  forget(socket: S): void {
    this.behind.delete(socket);
  }

  /** Sockets still waiting to be told (diagnostics, tests). */
  get pending(): number {
    return this.behind.size;
  }

  private async run(): Promise<void> {
    this.waiting = true;
    try {
      while (this.behind.size > 0) {
        const batch = new Set(this.behind);
        this.behind.clear();
        const giveUpAt = Date.now() + this.giveUpAfterMs;
        // Each further wait is for a later point, which includes what the batch asked for.
        let inForce = await this.settled();
        while (!inForce && Date.now() < giveUpAt) inForce = await this.settled();
        for (const socket of batch) if (socket.connected) socket.emit('resync');
      }
    } finally {
      this.waiting = false;
    }
  }
}
