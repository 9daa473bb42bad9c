import { createRequire } from 'node:module';
import { JsonOnlyEncoder } from '../../../src/presence/transport/connection-guard.js';

const { Encoder, PacketType } = createRequire(import.meta.url)('socket.io-parser') as typeof import('socket.io-parser');

describe('JsonOnlyEncoder: Socket.IO packets of JSON, without the search for binary', () => {
  const packets = [
    { type: PacketType.ACK, nsp: '/streamer', id: 12, data: [{ ok: true, serverTime: 1_796_000_000_123, nextHeartbeatMs: 50_000 }] },
    { type: PacketType.EVENT, nsp: '/viewer', data: ['presence', { streamerId: 's1', status: 'online', meta: { title: 'a "quoted" title' } }] },
    { type: PacketType.CONNECT, nsp: '/streamer', data: { sid: 'abc' } },
    { type: PacketType.CONNECT_ERROR, nsp: '/streamer', data: { message: 'unauthorized' } },
    { type: PacketType.DISCONNECT, nsp: '/viewer' },
  ];

  it.each(packets.map((packet) => [PacketType[packet.type], packet] as const))('writes a %s packet as the stock encoder does', (_name, packet) => {
    expect(new JsonOnlyEncoder().encode(packet)).toEqual(new Encoder().encode(packet));
  });
});
