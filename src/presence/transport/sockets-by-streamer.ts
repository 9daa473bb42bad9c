/**
 * This pod's open sockets of each streamer, at most `cap` each: the cap on a streamer's sockets here, and
 * where an `occupancy` notice finds them. One socket is kept as itself, more as an array, so an idle
 * connection costs a map entry, as a count would.
 */
export class SocketsByStreamer<S> {
  private readonly held = new Map<string, S | S[]>();

  constructor(private readonly cap: number) {}

  /** Adds the socket; false (and nothing added) when the streamer holds `cap` here already. */
  add(streamerId: string, socket: S): boolean {
    const now = this.held.get(streamerId);
    if (now === undefined) {
      this.held.set(streamerId, socket);
      return true;
    }
    const list = Array.isArray(now) ? now : [now];
    if (list.length >= this.cap) return false;
    this.held.set(streamerId, [...list, socket]);
    return true;
  }

  remove(streamerId: string, socket: S): void {
    const now = this.held.get(streamerId);
    if (now === undefined) return;
    const left = (Array.isArray(now) ? now : [now]).filter((held) => held !== socket);
    if (left.length === 0) this.held.delete(streamerId);
    else this.held.set(streamerId, left.length === 1 ? left[0]! : left);
  }

  get(streamerId: string): readonly S[] {
    const now = this.held.get(streamerId);
    return now === undefined ? [] : Array.isArray(now) ? now : [now];
  }
}
