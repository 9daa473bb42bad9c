import { SocketsByStreamer } from '../../../src/presence/transport/sockets-by-streamer.js';

test('holds up to the cap per streamer, finds them, and forgets a streamer with none', () => {
  const sockets = new SocketsByStreamer<string>(2);
  expect(sockets.add('a', 's1')).toBe(true);
  expect(sockets.add('a', 's2')).toBe(true);
  expect(sockets.add('a', 's3')).toBe(false);
  expect(sockets.add('b', 's4')).toBe(true);
  expect(sockets.get('a')).toEqual(['s1', 's2']);
  sockets.remove('a', 's1');
  expect(sockets.get('a')).toEqual(['s2']);
  expect(sockets.add('a', 's3')).toBe(true);
  sockets.remove('a', 's2');
  sockets.remove('a', 's3');
  sockets.remove('a', 's3');
  expect(sockets.get('a')).toEqual([]);
  expect(sockets.get('b')).toEqual(['s4']);
});
