import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it for a listen on port 0).
 * Another process may take it before the caller binds it; helpers that spawn servers retry on that.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: listen on port 0 returned no TCP address'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** The first port of Linux's ephemeral range (outgoing connections' local ports); 32768 by default. */
function ephemeralRangeStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * A port below the kernel's ephemeral range (usually 32768+), free now and not in `taken`. For ports chosen
 * ahead of time (pods a test starts later, listed in a load balancer's upstreams from the start): a
 * port from the ephemeral range could meanwhile become the local port of an outgoing connection.
 */
export async function portBelowEphemeralRange(taken: readonly number[]): Promise<number> {
  const low = ephemeralRangeStart();
  const from = Math.max(10_000, low - 12_000);
  for (;;) {
    const port = from + Math.floor(Math.random() * (low - from));
    if (taken.includes(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}
