/** The Socket.IO room of a streamer's viewers: one emit reaches them on every pod through the adapter. */
export function streamerRoom(streamerId: string): string {
  return `streamer:${streamerId}`;
}
