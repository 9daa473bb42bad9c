// When the generator was last free: a timer that fires every 20 ms, late whenever the event loop is held.
// What a viewer reads in a turn reached its socket after the turn before began, and that turn began no
// earlier than the last firing: so a sighting read at `at` arrived somewhere in [lastFree, at]. On a
// starved generator (seconds late at full scale, RELIABILITY finding 6) the oracle takes the benefit of
// that doubt for the service (oracle.ts `readFrom`; finding 29).
const EVERY_MS = 20;

export class GeneratorTurns {
  private free = Date.now();
  private readonly timer = setInterval(() => (this.free = Date.now()), EVERY_MS);

  constructor() {
    this.timer.unref();
  }

  /** The generator's last free moment before now: the earliest what it reads now may have arrived. */
  get lastFree(): number {
    return this.free;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
