import type { Socket as EngineSocket } from 'engine.io';

/** An engine.io connection with the client address it was opened from (see `rememberAddress`). */
type AddressedConnection = EngineSocket & { clientAddress?: string };

/**
 * Keeps the client address of a new engine.io connection on it, and lets go of the HTTP request it
 * was opened with: engine.io keeps that request (headers, parser state, its socket's listeners) for
 * the connection's whole life, a few KB of every idle connection, for nothing we read later. Socket.IO
 * reads it only optionally (Socket.IO's memory-usage guide recommends dropping it).
 */
export function rememberAddress(conn: EngineSocket, address: string): void {
  (conn as AddressedConnection).clientAddress = address;
  (conn as unknown as { request: null }).request = null;
}

/** The client address a connection was opened from (`rememberAddress`). */
export function addressOf(conn: EngineSocket): string {
  return (conn as AddressedConnection).clientAddress ?? 'unknown';
}
