import { connect, createServer, type Socket } from 'node:net';
import { registerCleanup } from './cleanup.js';

/**
 * A TCP proxy to Redis on a free loopback port that can hold back, on demand, what some named ioredis
 * connections (their `CLIENT SETNAME`, e.g. `presence-subscribe`) send to Redis: their commands reach
 * Redis only on `release`, in order. Redis meanwhile serves every other connection: those connections
 * are slow, not Redis.
 */
export interface HoldingProxy {
  readonly port: number;
  hold(): void;
  release(): void;
}

export async function startHoldingProxy(targetPort: number, connectionNames: readonly string[]): Promise<HoldingProxy> {
  const open = new Set<Socket>();
  const named = new Set<Socket>();
  const held = new Map<Socket, Buffer[]>();
  let holding = false;
  const upstreamOf = new Map<Socket, Socket>();
  const server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    upstreamOf.set(client, upstream);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => {
      if (connectionNames.some((name) => chunk.includes(name))) named.add(client);
      if (holding && named.has(client)) held.set(client, [...(held.get(client) ?? []), chunk]);
      else upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registerCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return {
    port: (server.address() as { port: number }).port,
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      for (const [client, chunks] of held) for (const chunk of chunks) upstreamOf.get(client)?.write(chunk);
      held.clear();
    },
  };
}
