// The raw HTTP request corpus for the /v1 routes (and a few others): request text written by hand, so the
// query strings, headers and even request lines can be anything a parser has to survive.
import { CONTROL_ID, FUZZ_STREAMERS } from './identities.mjs';
import { ODD_IDS } from './mutations.mjs';
import { int, pick, weighted } from './prng.mjs';

const STATUS_VALUES = ['online', 'offline', 'ONLINE', '', 'all', '%00', 'online%00', '__proto__', 'x'.repeat(3_000)];
const LIMIT_VALUES = ['1', '100', '1000', '1001', '0', '-1', '1e3', '0x10', '%201', '99999999999999999999', 'NaN', '', '1.5', '٣'];
const CURSOR_VALUES = ['', 'Ym9i', 'e1.x', 'e1.' + 'A'.repeat(200), '%ff%fe', '..', 'x'.repeat(5_000), '%00', 'bnVsbA', 'e1.0-0.0-0', '__proto__', 'eyJhIjoxfQ'];
const WAIT_VALUES = ['0', '0', '1', '50', '', '-1', '30001', '1e3', 'abc', '3000'];
const QUERY_JUNK = ['&&&', '=', '%', '%zz', 'a[b]=c', '__proto__[x]=1', 'constructor[prototype][x]=1', 'toString=1', `x=${'y'.repeat(8_000)}`, ';', '?'];

/** Each parameter now and then left out or repeated, sometimes junk added, in a shuffled order. */
function query(r, params) {
  const parts = [];
  for (const [name, values] of Object.entries(params)) {
    if (r() < 0.3) continue;
    for (let n = r() < 0.1 ? 2 : 1; n > 0; n -= 1) parts.push(`${name}=${encodeURI(pick(r, values)).replace(/%25/g, '%')}`);
  }
  if (r() < 0.15) parts.push(pick(r, QUERY_JUNK));
  for (let i = parts.length - 1; i > 0; i -= 1) {
    const j = int(r, 0, i);
    [parts[i], parts[j]] = [parts[j], parts[i]];
  }
  return parts.length === 0 && r() < 0.5 ? '' : `?${parts.join('&')}`;
}

/** encodeURIComponent, except that a lone surrogate goes out as the bytes a sloppy client would send. */
function encodePath(text) {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
}

function pathId(r) {
  return weighted(r, [
    [4, () => pick(r, FUZZ_STREAMERS)],
    [1, () => CONTROL_ID],
    [3, () => encodePath(String(pick(r, ODD_IDS)))],
    [1, () => pick(r, ['..%2F..%2Fmetrics', '%2e%2e', '%00', '%ff', '%', 'a%2Fb', `${'x'.repeat(64)}`, '%C0%AE'])],
  ])();
}

/** `route` names the tally the answers go under. */
const HTTP_ROUTES = [
  [4, { route: 'list', path: (r) => `/v1/streamers${query(r, { status: STATUS_VALUES, limit: LIMIT_VALUES, cursor: CURSOR_VALUES })}` }],
  [3, { route: 'presence', path: (r) => `/v1/streamers/${pathId(r)}/presence` }],
  [1, { route: 'streamer', path: (r) => `/v1/streamers/${pathId(r)}` }],
  [2, { route: 'timeline', path: (r) => `/v1/streamers/${pathId(r)}/timeline${query(r, { limit: LIMIT_VALUES })}` }],
  [3, { route: 'events', path: (r) => `/v1/events${query(r, { after: CURSOR_VALUES, limit: LIMIT_VALUES, waitMs: WAIT_VALUES })}` }],
  [1, { route: 'socket.io', path: (r) => `/socket.io/${query(r, { EIO: ['4', '3', '5', '', 'x'], transport: ['polling', 'websocket', 'x'], sid: ['x', '', 'A'.repeat(20)], b64: ['1'], j: ['0'] })}` }],
  [1, { route: 'other', path: (r) => pick(r, ['/', '/metrics', '/healthz', '/readyz', '/v1', '/v1/', '//v1/streamers', '/v1/streamers/', '/%2e%2e/', '/v1/streamers/..%2f..%2fmetrics', '*', '/v1/streamers/fz-s0/presence/x']) }],
];

function authorization(r, tokens) {
  return `Authorization: ${pick(r, [`Bearer ${tokens.operator}`, `Bearer ${pick(r, tokens.viewer)}`, `Bearer ${pick(r, tokens.bad)}`, 'Bearer', 'Basic Zm9vOmJhcg==', `bearer ${tokens.operator}`, `Bearer  ${tokens.operator}`, 'x'.repeat(5_000)])}`;
}

const EXTRA_HEADERS = [
  [6, (r, tokens) => authorization(r, tokens)],
  [1, () => 'Origin: http://fuzz.invalid'],
  [1, () => 'Cookie: io=fuzz; __proto__=x'],
  [1, () => 'Accept: application/json'],
  [1, () => 'Accept-Encoding: gzip, br, zstd, *'],
  [1, () => `X-Forwarded-For: ${'1.2.3.4, '.repeat(1_000)}2001:db8::3:ff`],
  [1, () => 'X-Forwarded-For: not-an-address'],
  [1, () => 'X-Forwarded-For: '],
  [1, () => `X-Fuzz: ${'h'.repeat(20_000)}`],
  [1, () => Array.from({ length: 150 }, (_, i) => `X-Many-${i}: ${i}`).join('\r\n')],
  [1, () => 'X-Bad\u0000Name: 1'],
  [1, () => 'X-Bad-Value: a\u0001b'],
  [1, () => 'Expect: 100-continue'],
  [1, () => 'Upgrade: websocket\r\nConnection: Upgrade'],
  [1, () => 'Content-Length: 5'],
  [1, () => 'Content-Length: -1'],
  [1, () => 'Transfer-Encoding: chunked'],
  [1, () => 'Range: bytes=0-1'],
  [1, () => 'If-None-Match: *'],
];

/** One request, as `{ route, text }`; `text` is latin1, so any byte a header holds goes out as written. */
export function httpRequestText(r, port, address, tokens) {
  const { route, path: buildPath } = weighted(r, HTTP_ROUTES);
  const path = buildPath(r);
  const method = weighted(r, [[85, 'GET'], [3, 'HEAD'], [4, 'POST'], [2, 'OPTIONS'], [2, 'DELETE'], [1, 'PUT'], [1, 'BREW'], [1, 'G\u0000T']]);
  const headers = [`Host: 127.0.0.1:${port}`, `X-Forwarded-For: ${address}`, 'Connection: close'];
  // The operator routes answer 401 before reading anything else, so they mostly get a token.
  if ((route === 'events' || route === 'timeline') && r() < 0.7) headers.push(`Authorization: Bearer ${tokens.operator}`);
  for (let n = weighted(r, [[5, 0], [4, 1], [2, 2], [1, 4]]); n > 0; n -= 1) headers.push(weighted(r, EXTRA_HEADERS)(r, tokens));
  const body = headers.some((h) => h.startsWith('Transfer-Encoding')) ? 'zz\r\nhello\r\n0\r\n\r\n' : headers.some((h) => h.startsWith('Content-Length: 5')) ? 'hello' : '';
  const line = r() < 0.02 ? pick(r, [`${method} ${path} HTTP/9.9`, `${method} ${path}`, `${method}  ${path} HTTP/1.1`, `${method} ${path} HTTP/1.1 extra`, '\u0016\u0003\u0001\u0000']) : `${method} ${path} HTTP/1.1`;
  return { route, text: `${line}\r\n${headers.join('\r\n')}\r\n\r\n${body}` };
}
