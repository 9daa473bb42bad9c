// When the generator was last free: a timer that fires every 20 ms, late whenever the event loop is held.
// What a viewer reads at `at` after a held stretch may have reached its socket any time in it, from the
// last firing on (or earlier still: taking that moment errs against the service). On a starved
// generator (seconds late at full scale, RELIABILITY finding 6) the oracle gives the service the
// benefit of that doubt (oracle.ts `readFrom`; finding 29).
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
