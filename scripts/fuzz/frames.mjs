// The valid frame corpus: one builder per kind of Socket.IO / Engine.IO frame a client may send. A
// builder makes a well-formed frame, or puts the hostile value it is given into one (see frame-source.mjs).
import { CONTROL_ID, FUZZ_STREAMERS } from './identities.mjs';
import { WRONG_NAMESPACES } from './mutations.mjs';
import { int, pick, randomBytesFrom, weighted } from './prng.mjs';

const SCALARS = [() => 'Friday set', () => 12, () => true, () => null, () => 0.5, () => -3, () => 'é🙂', () => ''];
const META_KEYS = ['title', 'viewers', 'hd', 'game', 'lang', '__proto__', 'constructor', 'toString', '', 'k'.repeat(200)];
const metaText = (r, keys = int(r, 0, 5)) =>
  `{${Array.from({ length: keys }, () => `${JSON.stringify(pick(r, META_KEYS))}:${JSON.stringify(pick(r, SCALARS)())}`).join(',')}}`;
/** A flat meta of valid values, over the 1 KiB limit: `payload_too_large`. */
const bigMetaText = (r) => `{${Array.from({ length: int(r, 30, 60) }, (_, i) => `"m${i}":"${'v'.repeat(40)}"`).join(',')}}`;

function streamerIdsText(r) {
  const count = weighted(r, [[70, () => int(r, 1, 5)], [15, () => int(r, 50, 100)], [5, () => int(r, 101, 150)], [5, () => 0]])();
  // Mostly fresh ids, so a socket reaches its 1000 subscriptions (too_many_subscriptions) within seconds.
  const id = () => weighted(r, [[3, () => `fz-r${int(r, 0, 999_999)}`], [1, () => pick(r, FUZZ_STREAMERS)], [1, () => CONTROL_ID]])();
  return `{"streamerIds":${JSON.stringify(Array.from({ length: count }, id))}}`;
}

const event = (ns, ackId, name, ...args) => `42${ns},${ackId}[${[JSON.stringify(name), ...args].join(',')}]`;
const UNKNOWN_EVENTS = ['ping', 'session', 'presence', 'exception', 'connect', 'disconnect', 'disconnecting', 'error', 'newListener', '__proto__', 'constructor', 'toString', 'x'.repeat(1_000), ''];

/**
 * Socket.IO closes a connection that sends a packet for a namespace it has not joined, so events mostly
 * go to joined ones (the rest test exactly that), and a namespace being joined is not asked for again.
 */
const whenJoined = (ns, joined, otherwise) => (s) => (s.joined.has(ns) ? joined : otherwise);
const anyJoined = (joined, otherwise) => (s) => (s.joined.size > 0 ? joined : otherwise);
const connectWeight = (ns) => (s) => (s.joining(ns) ? 0.2 : 12);
const someNamespace = (r, s) => (s.joined.size > 0 && r() < 0.9 ? pick(r, [...s.joined]) : pick(r, ['/streamer', '/viewer', '/dashboard', '/nowhere']));

/**
 * Each builder: its kind, its weight given the connection state `s` (connection-state.mjs), and
 * `build(r, s, h)`, where `h` is a hostile value to put in (or null; only builders marked `hostile` get
 * one). `s.ack()` reserves an ack id, so the ack that comes back can be told apart. `wsOnly`: not sent
 * over long-polling. `unanswered`: an ack asked for that no handler owes.
 */
export const BUILDERS = [
  {
    kind: 'connect /streamer',
    hostile: true,
    weight: connectWeight('/streamer'),
    build: (r, s, h) => ({ data: `40/streamer,${h ? pick(r, [`{"token":${h.text}}`, h.text]) : `{"token":"${pick(r, s.tokens.streamer)}"}`}` }),
  },
  {
    kind: 'connect /viewer',
    hostile: true,
    weight: connectWeight('/viewer'),
    build: (r, s, h) => ({
      data: `40/viewer,${h ? pick(r, [`{"token":${h.text}}`, h.text]) : pick(r, ['', '{}', `{"token":"${pick(r, s.tokens.viewer)}"}`])}`,
    }),
  },
  {
    kind: 'connect /dashboard',
    weight: () => 2,
    build: (r, s) => ({ data: `40/dashboard,${pick(r, ['', `{"token":"${s.tokens.operator}"}`])}` }),
  },
  {
    kind: 'connect bad token',
    weight: () => 3,
    build: (r, s) => {
      // Mostly a namespace not joined yet: a CONNECT for a joined one closes the connection.
      const free = ['/streamer', '/viewer', '/dashboard'].filter((ns) => !s.joining(ns));
      const ns = free.length > 0 && r() < 0.9 ? pick(r, free) : pick(r, ['/streamer', '/viewer', '/dashboard']);
      return { data: `40${ns},{"token":${JSON.stringify(pick(r, s.tokens.bad))}}` };
    },
  },
  {
    kind: 'connect wrong ns',
    weight: () => 2,
    build: (r) => {
      const ns = pick(r, WRONG_NAMESPACES);
      // The main namespace is written without its name.
      return { data: ns === '/' ? '40' : `40${ns},` };
    },
  },
  {
    kind: 'heartbeat',
    hostile: true,
    weight: whenJoined('/streamer', 30, 0.3),
    build: (r, s, h) => {
      const ack = r() < 0.7 ? s.ack() : '';
      const args = h
        ? pick(r, [[h.text], [`{"meta":${h.text}}`], [`{"meta":{"title":${h.text}}}`], [`{"meta":${metaText(r)},"x":${h.text}}`], ['{}', h.text]])
        : weighted(r, [[3, () => []], [1, () => ['null']], [1, () => ['{}']], [10, () => [`{"meta":${metaText(r)}}`]], [1, () => [`{"meta":${bigMetaText(r)}}`]]])();
      return { data: event('/streamer', ack, 'heartbeat', ...args), ackId: ack, ackNs: '/streamer' };
    },
  },
  {
    kind: 'end',
    hostile: true,
    weight: whenJoined('/streamer', 4, 0.1),
    build: (r, s, h) => {
      const ack = r() < 0.7 ? s.ack() : '';
      return { data: event('/streamer', ack, 'end', ...(h ? [h.text] : pick(r, [[], ['{}']]))), ackId: ack, ackNs: '/streamer' };
    },
  },
  ...['subscribe', 'unsubscribe'].map((name) => ({
    kind: name,
    hostile: true,
    weight: whenJoined('/viewer', name === 'subscribe' ? 25 : 8, 0.1),
    build: (r, s, h) => {
      const ack = r() < 0.8 ? s.ack() : '';
      const payload = h ? pick(r, [h.text, `{"streamerIds":${h.text}}`, `{"streamerIds":[${h.text}]}`, `{"streamerIds":["fz-s0",${h.text}]}`, `{"streamerIds":["fz-s0"],"x":${h.text}}`]) : streamerIdsText(r);
      return { data: event('/viewer', ack, name, payload), ackId: ack, ackNs: '/viewer' };
    },
  })),
  {
    kind: 'unknown event',
    hostile: true,
    weight: anyJoined(4, 0.3),
    build: (r, s, h) => {
      // Asked for an ack that no handler gives (only the rate limiter answers one), so it is not waited for.
      const ack = r() < 0.5 ? s.ack() : '';
      const ns = someNamespace(r, s);
      return { data: event(ns, ack, pick(r, UNKNOWN_EVENTS), ...(h ? [h.text] : [])), ackId: ack, ackNs: ns, unanswered: true };
    },
  },
  {
    kind: 'client ack',
    hostile: true,
    weight: anyJoined(2, 0.3),
    build: (r, s, h) => ({ data: `43${someNamespace(r, s)},${pick(r, ['0', '1', String(int(r, 0, 1e6)), '99999999999999999999'])}[${h ? h.text : '{"ok":true}'}]` }),
  },
  {
    kind: 'client disconnect',
    weight: anyJoined(1, 0.2),
    build: (r, s) => ({ data: `41${someNamespace(r, s)},` }),
  },
  {
    kind: 'binary event',
    weight: () => 0.3,
    build: (r) => ({ data: pick(r, ['451-/viewer,["subscribe",{"_placeholder":true,"num":0}]', '452-/streamer,["heartbeat",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', '461-/viewer,3[{"_placeholder":true,"num":0}]', '4999999999-/viewer,["x"]']) }),
  },
  {
    kind: 'raw binary',
    weight: () => 0.3,
    // Over long-polling, binary travels as a base64 `b` frame.
    build: (r, s) => {
      const bytes = randomBytesFrom(r, int(r, 1, 64));
      return s.transport === 'websocket' ? { data: bytes, binary: true } : { data: `b${bytes.toString('base64')}` };
    },
  },
  {
    kind: 'engine.io packet',
    weight: () => 1,
    build: (r) => {
      const [name, data] = pick(r, [['ping', '2'], ['pong', '3'], ['noop', '6'], ['close', '1'], ['upgrade', '5'], ['empty message', '4'], ['open', '0'], ['probe', '2probe'], ['text message', '4hello'], ['empty frame', '']]);
      return { data, kind: `eio ${name}` };
    },
  },
  {
    kind: 'ws ping flood',
    weight: () => 0.2,
    wsOnly: true,
    build: () => ({ data: null, action: 'ping-flood' }),
  },
];
