import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { type FramedWebSocket, sendText, textFrame } from '../../../src/presence/transport/websocket-frame.js';

// ws's frame builder (not in its type definitions).
const { Sender } = createRequire(import.meta.url)('ws') as { Sender: { frame(data: Buffer, options: object): Buffer[] } };

/** ws's own frame for `text`, as a server sends it (unmasked, final, text). */
function wsFrame(text: string): Buffer {
  const frame = Sender.frame(Buffer.from(text), { fin: true, mask: false, opcode: 1, readOnly: false, rsv1: false });
  return Buffer.concat(frame);
}

describe('textFrame: the bytes ws writes for a text message', () => {
  it.each([
    ['empty', ''],
    ['an ack', '43/streamer,7[{"ok":true,"serverTime":1796000000123,"nextHeartbeatMs":50000}]'],
    ['125 bytes (the largest 7-bit length)', 'x'.repeat(125)],
    ['126 bytes (a 16-bit length)', 'x'.repeat(126)],
    ['multi-byte UTF-8, longer in bytes than in characters', 'é'.repeat(70)],
    ['65,535 bytes (the largest 16-bit length)', 'x'.repeat(65_535)],
    ['65,536 bytes (a 64-bit length)', 'x'.repeat(65_536)],
  ])('%s', (_name, text) => {
    expect(textFrame(text).equals(wsFrame(text))).toBe(true);
  });
});

describe('sendText on a real WebSocket: every message arrives, whole and in order, mixed with ws.send', () => {
  let server: WebSocketServer;
  afterEach(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A server (with `options`) and a client connected to it: the server's side of the connection, and what the client receives. */
  async function connected(options: ConstructorParameters<typeof WebSocketServer>[0] = {}) {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
    await new Promise((resolve) => server.once('listening', resolve));
    const serverSide = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const received: string[] = [];
    client.on('message', (data) => received.push(data.toString()));
    const ws = (await serverSide) as unknown as FramedWebSocket & WebSocket;
    return { ws, received, until: (count: number) => new Promise<void>((resolve) => { const check = () => (received.length >= count ? resolve() : setTimeout(check, 5)); check(); }) };
  }

  it('one write of one buffer per message while ws holds nothing back', async () => {
    const { ws, received, until } = await connected();
    const socket = ws._socket as { write(data: Buffer): boolean };
    const writes: unknown[] = [];
    const write = socket.write.bind(socket);
    socket.write = (data: Buffer) => (writes.push(data), write(data));

    ws.send('one');
    const byWs = writes.length;
    sendText(ws, 'two: é');
    sendText(ws, 'x'.repeat(300));
    ws.send('four');
    await until(4);
    expect(received).toEqual(['one', 'two: é', 'x'.repeat(300), 'four']);
    expect(byWs).toBe(2); // ws: the header, then the text
    expect(writes.length - byWs).toBe(2 + 2); // ours: one each; then ws's two
  });

  it('behind a message ws is still compressing (permessage-deflate), through ws.send, so it does not overtake it', async () => {
    const { ws, received, until } = await connected({ perMessageDeflate: { threshold: 0 } });
    ws.send('compressed first '.repeat(200));
    sendText(ws, 'then this');
    sendText(ws, 'and this');
    await until(3);
    expect(received).toEqual(['compressed first '.repeat(200), 'then this', 'and this']);
  });
});
