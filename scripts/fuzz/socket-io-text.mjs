// Reads an Engine.IO / Socket.IO text frame just far enough to tell what it is: the fuzzer sends
// mangled frames on purpose, so this must never throw and never trust a frame to be well formed.

export const EIO_TYPES = { 0: 'open', 1: 'close', 2: 'ping', 3: 'pong', 4: 'message', 5: 'upgrade', 6: 'noop' };

/** `{ type, ns, id, body }` of a Socket.IO packet (an Engine.IO message, `4…`), or null for any other frame. */
export function parseSocketIo(text) {
  if (text[0] !== '4' || text.length < 2) return null;
  let i = 2;
  let ns = '/';
  if (text[i] === '/') {
    const comma = text.indexOf(',', i);
    ns = comma === -1 ? text.slice(i) : text.slice(i, comma);
    i = comma === -1 ? text.length : comma + 1;
  }
  const start = i;
  while (i < text.length && text[i] >= '0' && text[i] <= '9') i += 1;
  return { type: text[1], ns, id: text.slice(start, i), body: text.slice(i) };
}
