/**
 * Runs requests of one costly kind one at a time, each in a turn of the event loop of its own. A page
 * of 1000 online streamers costs the pod ~5 ms of CPU, most of it after the handler (serializing the
 * answer); sixteen arriving together would run back to back and hold every other client, a streamer's
 * heartbeat ack among them, for ~90 ms. Between two turns the event loop serves I/O. Queued requests
 * are bounded by the per-address rates and MAX_CONNECTIONS.
 */
export class OneAtATime {
  private last: Promise<void> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.last.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(work);
    // The answer of `work` is serialized in the microtasks that follow it, before the next turn's
    // setImmediate can fire.
    this.last = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }
}
