const STREAMER_ROOM = 'streamer:';

/** The Socket.IO room of a streamer's viewers: one emit reaches them on every pod through the adapter. */
export function streamerRoom(streamerId: string): string {
  return `${STREAMER_ROOM}${streamerId}`;
}

/** The streamer whose room this is, or null for any other room (a socket's own). */
export function streamerOfRoom(room: string): string | null {
  return room.startsWith(STREAMER_ROOM) ? room.slice(STREAMER_ROOM.length) : null;
}

