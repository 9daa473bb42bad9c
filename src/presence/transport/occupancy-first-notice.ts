import type { Socket } from 'socket.io';
import type { StreamerServerEvents, StreamerSocketData } from './event-maps.js';
import { OCCUPANCY_NOTICE_INTERVAL_MS } from '../domain/occupancy.js';

/**
 * Tells a new streamer connection its count, when someone watches, at once and by its own pod: it has been
 * told nothing yet. From the connect until it is caught up, the streamer's notices skip it (they may
 * carry a change it is not due to hear yet, or arrive within an interval of its first count); each
 * interval it is told the count then if that differs from what it was told, and once the two agree it
 * hears the notices again and holds no timer. A failed read keeps it apart and asks again next interval.
 */
export function tellFirstOccupancy(socket: Socket<Record<string, never>, StreamerServerEvents, Record<string, never>, StreamerSocketData>, streamerId: string, viewersOf: (streamerId: string) => Promise<number>): void {
  // Apart before the first read: a notice during it would come milliseconds before the first count.
  socket.data.occupancyQuiet = true;
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
      socket.data.occupancyQuiet = false;
      return;
    }
    told = viewers;
    socket.emit('occupancy', { viewers });
    again();
  };
  void tell();
}
