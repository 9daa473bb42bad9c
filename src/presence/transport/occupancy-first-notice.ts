import type { Socket } from 'socket.io';
import { OCCUPANCY_NOTICE_INTERVAL_MS } from '../domain/occupancy.js';
import { recentlyToldRoom } from './rooms.js';

/**
 * Tells a new streamer connection its count, when someone watches, at once and by its own pod: it has been
 * told nothing yet. From the connect until it is caught up, the streamer room's notices skip it (they may
 * carry a change it is not due to hear yet, or arrive within an interval of its first count); each
 * interval it is told the count then if that differs from what it was told, and once the two agree it
 * rejoins the room's notices and holds no timer. A failed read keeps it apart and asks again next interval.
 */
export function tellFirstOccupancy(socket: Socket, streamerId: string, viewersOf: (streamerId: string) => Promise<number>): void {
  const quiet = recentlyToldRoom(streamerId);
  // Apart before the first read: a room notice during it would come milliseconds before the first count.
  void socket.join(quiet);
  let told = 0;
  const again = (): void => void setTimeout(() => void tell(), OCCUPANCY_NOTICE_INTERVAL_MS).unref();
  const tell = async (): Promise<void> => {
    let viewers: number;
    try {
      viewers = await viewersOf(streamerId);
    } catch {
      if (socket.connected) again();
      return;
    }
    if (!socket.connected) return;
    if (viewers === told) {
      void socket.leave(quiet);
      return;
    }
    told = viewers;
    socket.emit('occupancy', { viewers });
    again();
  };
  void tell();
}
