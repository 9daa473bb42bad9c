import type { Socket } from 'socket.io';

/** Socket ids are unique per server only; prefixed with the pod they are unique cluster-wide. */
export function connectionIdOf(podId: string, socket: Socket): string {
  return `${podId}:${socket.id}`;
}
