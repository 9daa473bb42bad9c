import type { IncomingMessage } from 'node:http';

/**
 * The client's address as the per-address limits count it: the TCP peer, or, behind `trustedHops`
 * proxies that each append the address they saw to `X-Forwarded-For`, the entry that many from the
 * right (the one the outermost trusted proxy wrote). Entries further left are the client's own say and
 * never trusted. A request that came through fewer proxies than configured counts as its TCP peer.
 */
export function clientAddress(request: IncomingMessage, trustedHops: number): string {
  const peer = request.socket.remoteAddress ?? 'unknown';
  if (trustedHops === 0) return peer;
  const header = request.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  return hops.length >= trustedHops ? hops[hops.length - trustedHops]! : peer;
}
