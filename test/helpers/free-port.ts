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
