import { connect, createServer, type Socket } from 'node:net';
import { registerCleanup } from './cleanup.js';

/** A TCP proxy on a free loopback port, in front of a server the test makes misbehave without touching it. */
export interface TcpProxy {
  readonly port: number;
  /** Destroys every open connection, and drops new ones until `restore`. */
  cut(): void;
  restore(): void;
  /**
   * Holds back what some named Redis connections (their `CLIENT SETNAME`, e.g. `presence-subscribe`)
   * send: their commands reach Redis only on `release`, in order. Redis meanwhile serves every other
   * connection: those connections are slow, not Redis.
   */
  hold(connectionNames: readonly string[]): void;
  release(): void;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let cut = false;
  let holding: readonly string[] = [];
  /** Each client's connection name, from its `CLIENT SETNAME`, and what the held ones sent meanwhile. */
  const names = new Map<Socket, string>();
  const held = new Map<Socket, Buffer[]>();
  const upstreamOf = new Map<Socket, Socket>();
  const server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    upstreamOf.set(client, upstream);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => {
      const setName = /setname\r\n\$\d+\r\n([^\r]+)\r\n/i.exec(chunk.toString('latin1'));
      if (setName !== null) names.set(client, setName[1]!);
      if (holding.includes(names.get(client) ?? '')) held.set(client, [...(held.get(client) ?? []), chunk]);
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
    cut: () => {
      cut = true;
      for (const socket of open) socket.destroy();
    },
    restore: () => {
      cut = false;
    },
    hold: (connectionNames) => {
      holding = connectionNames;
    },
    release: () => {
      holding = [];
      for (const [client, chunks] of held) for (const chunk of chunks) upstreamOf.get(client)?.write(chunk);
      held.clear();
    },
  };
}
