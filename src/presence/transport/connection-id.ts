import type { Socket } from 'socket.io';

/**
 * `<pod>:<socket id>@<handshake ms>`. Socket ids are unique per server only; prefixed with the pod they
 * are unique cluster-wide. The handshake time (this pod's clock) rides along so operators can read when a
 * connection started from the store's leases (the console), without changing what a lease holds.
 */
export function connectionIdOf(podId: string, socket: Socket): string {
  return `${podId}:${socket.id}@${socket.handshake.issued}`;
}

/** The pod and the start of a connection, read back from its id; null parts for an id of another shape. */
export function describeConnectionId(connectionId: string): { pod: string | null; since: number | null } {
  const match = /^(.*):[^:@]+@(\d+)$/.exec(connectionId);
  if (match === null) {
    const colon = connectionId.lastIndexOf(':');
    return { pod: colon > 0 ? connectionId.slice(0, colon) : null, since: null };
  }
  return { pod: match[1]!, since: Number(match[2]) };
}
