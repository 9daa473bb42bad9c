/**
 * A tiny typed event emitter (no Node `events`, so the SDK bundles for browsers as it is).
 *
 * `Events` maps each event name to its listener's argument tuple, e.g.
 * `{ state: [state: ConnectionState, previous: ConnectionState] }`.
 */
export type EventMap = { [event: string]: unknown[] };

export type Listener<Args extends unknown[]> = (...args: Args) => void;

export class Emitter<Events extends EventMap> {
  // Each set holds listeners of its own event's type; the map cannot say so, hence the casts below.
  private readonly listeners = new Map<keyof Events, Set<unknown>>();

  /** Adds `listener` for `event`; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Like {@link on}, removed after its first call (remove it earlier with the returned function, not `off`). */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (...args) => {
      off();
      listener(...args);
    });
    return off;
  }

  /** Removes `listener` (or, without it, every listener of `event`). */
  off<K extends keyof Events>(event: K, listener?: Listener<Events[K]>): void {
    if (listener === undefined) this.listeners.delete(event);
    else this.listeners.get(event)?.delete(listener);
  }

  /**
   * Calls every listener of `event` in the order they were added. A listener that throws does not stop
   * the others, nor the client that emits: its error is rethrown on a fresh stack (an uncaught error,
   * as a throwing DOM event listener would be).
   */
  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(...args);
      } catch (error) {
        globalThis.setTimeout(() => {
          throw error;
        }, 0);
      }
    }
  }
}
