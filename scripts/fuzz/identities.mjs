// Who is who. Every client claims its own address in X-Forwarded-For (the pod trusts one hop), so the
// per-address limits rate each fuzzer on its own. Documentation prefix (RFC 3849): never a real peer.

export const CONTROL_ID = 'fuzz-control';
export const CONTROL_STREAMER_ADDRESS = '2001:db8::c:1';
export const CONTROL_VIEWER_ADDRESS = '2001:db8::c:2';

/** One fuzzer in ten shares this address with the others like it, as clients behind one NAT do. */
export const CROWD_ADDRESS = '2001:db8::99';

/** `group`: 1 WebSocket, 2 polling, 3 raw HTTP. */
export const fuzzAddress = (group, index) => `2001:db8::${group}:${index.toString(16)}`;

/** Valid streamer ids, the prototype's own names among them (they match the id pattern). */
export const FUZZ_STREAMERS = [
  ...Array.from({ length: 11 }, (_, i) => `fz-s${i}`),
  '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf',
];
