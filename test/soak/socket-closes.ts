/** When the pods let go of each socket, read from their log lines (the app helper keeps every line). */
export interface SocketCloses {
  /** Viewer socket → each time a pod logged it closed (a socket id may come back after a reconnect). */
  readonly viewers: Map<string, number[]>;
  /** Streamer socket → when a pod logged it closed. */
  readonly streamers: Map<string, number>;
}

/**
 * The `viewer disconnected` and `streamer disconnected` lines of `lines`. A line that does not parse is
 * passed over: a pod SIGKILLed in the middle of writing one leaves it cut (the full-scale run of
 * 18:14Z lost its verdict to such a line).
 */
export function socketCloses(lines: Iterable<string>): SocketCloses {
  const viewers = new Map<string, number[]>();
  const streamers = new Map<string, number>();
  for (const line of lines) {
    const viewerLine = line.includes('"viewer disconnected"');
    if (!viewerLine && !line.includes('"streamer disconnected"')) continue;
    let parsed: { timestamp: number; message: { socketId: string } };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      continue;
    }
    const { timestamp, message } = parsed;
    if (viewerLine) viewers.set(message.socketId, [...(viewers.get(message.socketId) ?? []), timestamp]);
    else streamers.set(message.socketId, timestamp);
  }
  return { viewers, streamers };
}
