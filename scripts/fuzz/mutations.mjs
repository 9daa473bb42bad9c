// What a hostile client puts in: hostile JSON values for well-formed frames (they reach the payload
// checks), odd ids and namespaces, and byte-level mutations of a frame (which mostly meet the parsers).
import { int, pick } from './prng.mjs';

export const ODD_IDS = [
  '', ' ', 'a b', '../../etc/passwd', 'x'.repeat(65), 'é', '🙂', 'a\u0000b', 'a\nb', '<script>', '%00', 'a/b', 'a,b', '\ud800',
  'x'.repeat(4000), 123, -1, 1e999, null, true, {}, [], ['fz-s0'],
];

export const WRONG_NAMESPACES = [
  '/', '/admin', '/dashboard', '/Streamer', '/streamer/', '/streamer/x', '//streamer', '/viewer?x=1', '/viewer#', '/ viewer', '/\u0000',
  '/%2e%2e', `/${'n'.repeat(2000)}`, '/__proto__', '/constructor', '/toString',
];

// Built once and sliced: a 30 000-deep nesting rebuilt for every frame would cost the fuzzer, not the pod.
const DEEPEST = 30_000;
const OPEN_ARRAYS = '['.repeat(DEEPEST);
const CLOSE_ARRAYS = ']'.repeat(DEEPEST);
const OPEN_OBJECTS = '{"":'.repeat(DEEPEST);
const CLOSE_OBJECTS = '}'.repeat(DEEPEST);
const LONG = 'x'.repeat(210_000);
const DEPTHS = [64, 1_000, 5_000, 12_000, DEEPEST];
/** Around the 1 KiB heartbeat limit and the 64 KiB frame limit, and far over the latter. */
const LONG_LENGTHS = [1_025, 4_096, 60_000, 65_600, 200_000];

const deepArray = (depth) => `${OPEN_ARRAYS.slice(0, depth)}1${CLOSE_ARRAYS.slice(0, depth)}`;
const deepObject = (depth) => `${OPEN_OBJECTS.slice(0, depth * 4)}1${CLOSE_OBJECTS.slice(0, depth)}`;
const manyKeys = (n) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',')}}`;

/** `[name, (r) => JSON text]`. Text, because JSON.stringify could not write 1e999 or a `__proto__` key. */
export const HOSTILE = [
  ['null', () => 'null'],
  ['scalar', (r) => pick(r, ['true', '0', '-0', '""', '"x"', '[]', '{}'])],
  ['huge number', (r) => pick(r, ['1e999', '-1e999', '9007199254740993', '123456789012345678901234567890', '1.7976931348623157e309', '0.1e-400', '-9e307'])],
  ['long string', (r) => `"${LONG.slice(0, pick(r, LONG_LENGTHS))}"`],
  ['deep array', (r) => deepArray(pick(r, DEPTHS))],
  ['deep object', (r) => deepObject(pick(r, DEPTHS))],
  ['many keys', (r) => manyKeys(pick(r, [100, 2_000, 6_000]))],
  ['proto keys', (r) => pick(r, [
    '{"__proto__":{"ok":false,"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '{"__proto__":null}',
    '{"toString":1,"valueOf":null,"hasOwnProperty":"x"}',
    '{"__proto__":[]}',
  ])],
  ['odd string', (r) => pick(r, ['"\\u0000"', '"\\ud800"', '"\\udc00\\ud800"', '"\\u202e\\u0000x"', '"\\uffff\\ufffe"', '"%s%n%x"', '"${7*7}"'])],
  ['odd id', (r) => JSON.stringify(pick(r, ODD_IDS))],
];

const INVALID_UTF8 = [[0xff], [0xfe, 0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xe2, 0x82]];
const UNKNOWN_PREFIXES = ['7', '8', '9', 'a', '-', '~', '47', '48', '49', '4a', '4-', '4 ', '00', '22', '4\u0000'];
const SPLICE_TAILS = ['42/viewer,["subscribe",{"streamerIds":["fz-s0"]}]', '\u001e42/viewer,["x"]', '40/streamer,', '3', ']]]]', '}'];

/** Byte-level mutations of a frame's text, by name (the name is what the report counts). */
export const MUTATIONS = {
  flip(r, text) {
    const bytes = Buffer.from(text);
    if (bytes.length === 0) return Buffer.from([int(r, 0, 255)]);
    for (let i = int(r, 1, 3); i > 0; i -= 1) bytes[int(r, 0, bytes.length - 1)] ^= 1 << int(r, 0, 7);
    return bytes;
  },
  truncate: (r, text) => text.slice(0, int(r, 0, Math.max(0, text.length - 1))),
  duplicate(r, text) {
    const from = int(r, 0, text.length);
    const to = int(r, from, Math.min(text.length, from + 64));
    return text.slice(0, to) + text.slice(from, to).repeat(pick(r, [2, 10, 1_000, 5_000])).slice(0, 200_000) + text.slice(to);
  },
  splice: (r, text) => text + pick(r, SPLICE_TAILS),
  nul(r, text) {
    const at = int(r, 0, text.length);
    return `${text.slice(0, at)}\u0000${text.slice(at)}`;
  },
  'invalid utf-8'(r, text) {
    const at = int(r, 0, text.length);
    return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(pick(r, INVALID_UTF8)), Buffer.from(text.slice(at))]);
  },
  'unknown type': (r, text) => pick(r, UNKNOWN_PREFIXES) + text.slice(pick(r, [1, 2])),
  'wrong namespace': (r, text) => (/\/(streamer|viewer|dashboard)/.test(text) ? text.replace(/\/(streamer|viewer|dashboard)/, pick(r, WRONG_NAMESPACES)) : `40${pick(r, WRONG_NAMESPACES)},`),
};
