// Tallies of what the fuzzers sent and what came back, filled as the run goes and read by report.mjs.

/** A Map of counts. */
export class Counter extends Map {
  add(key, n = 1) {
    this.set(key, (this.get(key) ?? 0) + n);
  }
  top(n) {
    return [...this.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
  }
  total() {
    let sum = 0;
    for (const value of this.values()) sum += value;
    return sum;
  }
}

export class Stats {
  framesSent = 0;
  bytesSent = 0;
  wsFrames = 0;
  pollingFrames = 0;
  wsOpened = 0;
  pollingOpened = 0;
  serverClosed = 0;
  backoffs = 0;
  httpRequests = 0;
  sessions = new Counter();
  closes = new Counter();
  handshakeFailures = new Counter();
  replies = new Counter();
  pollingPosts = new Counter();
  http = new Counter();
  /** kind → what it got: 'sent', 'ack ok', 'ack <code>', 'no ack within 1 s', 'connected', 'refused <message>', 'closed <how>'. */
  byKind = new Map();
  /** The same, by the hostile value a well-formed frame carried. */
  byHostile = new Map();

  /** `tag`: `{ kind, hostile }` of a frame; a null `hostile` leaves the hostile-value table alone. */
  outcome(tag, what) {
    for (const [map, key] of [[this.byKind, tag.kind], [this.byHostile, tag.hostile]]) {
      if (key === null) continue;
      if (!map.has(key)) map.set(key, new Counter());
      map.get(key).add(what);
    }
  }

  sent(tag, bytes, transport) {
    this.framesSent += 1;
    this.bytesSent += bytes;
    if (transport === 'websocket') this.wsFrames += 1;
    else this.pollingFrames += 1;
    this.outcome(tag, 'sent');
  }
}
