import type { OccupancyNotice, PodChannel } from '../domain/pod-channel.port.js';

/** The pod channel of a single node: no other pod to send to. */
export class LocalPodChannel implements PodChannel {
  send(_pod: string, _notice: OccupancyNotice): void {}

  receive(_handler: (notice: OccupancyNotice) => void): void {}
}
