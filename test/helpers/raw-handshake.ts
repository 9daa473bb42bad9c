import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';

/** What a raw Socket.IO handshake request got back: its HTTP status (101 for an accepted upgrade) and headers. */
export interface HandshakeAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/**
 * One engine.io handshake on either transport, as a stock client opens it: a long-polling GET, or a
 * WebSocket upgrade at once (`transports: ['websocket']`). Nothing else is sent; an accepted upgrade is
 * closed at once.
 */
export function rawHandshake(port: number, transport: 'polling' | 'websocket', headers: Record<string, string> = {}): Promise<HandshakeAnswer> {
  const upgrade =
    transport === 'websocket' ? { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64') } : {};
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path: `/socket.io/?EIO=4&transport=${transport}`, headers: { ...upgrade, ...headers } });
    request.setTimeout(5_000, () => request.destroy(new Error(`${transport} handshake: no answer within 5 s`)));
    request.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      response.on('error', reject);
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve({ status: 101, headers: response.headers, body: '' });
    });
    request.on('error', reject);
    request.end();
  });
}
