/** The Socket.IO room of a streamer's viewers: one emit reaches them on every pod through the adapter. */
export function streamerRoom(streamerId: string): string {
  return `streamer:${streamerId}`;
}

/** The streamer whose room this is, or null for any other room (a socket's own). */
export function streamerOfRoom(room: string): string | null {
  return room.startsWith('streamer:') ? room.slice('streamer:'.length) : null;
}

/**
 * The streamer's connections on `/streamer` that were told their count less than an interval ago: the
 * room's notices skip them (`except`), and each is told again, if need be, when its interval ends.
 */
export function recentlyToldRoom(streamerId: string): string {
  return `told:${streamerId}`;
}
