import { MAX_HEARTBEAT_BYTES, MAX_IDS_PER_REQUEST, parseEnd, parseHeartbeat, parseStreamerIds } from '../../../src/presence/domain/payloads.js';

class Payload {
  meta = { game: 'chess' };
}

/** A heartbeat whose JSON is exactly `bytes` long: {"meta":{"k":"xxx…"}}. */
function heartbeatOfBytes(bytes: number): { meta: { k: string } } {
  const overhead = JSON.stringify({ meta: { k: '' } }).length;
  const payload = { meta: { k: 'x'.repeat(bytes - overhead) } };
  expect(Buffer.byteLength(JSON.stringify(payload))).toBe(bytes);
  return payload;
}

describe('parseHeartbeat', () => {
  it.each([
    ['no payload', undefined, {}],
    ['null', null, {}],
    ['an empty object', {}, {}],
    ['an empty meta', { meta: {} }, { meta: {} }],
    ['meta of every allowed kind', { meta: { s: 'x', n: -1.5, z: 0, t: true, f: false, nil: null } }, { meta: { s: 'x', n: -1.5, z: 0, t: true, f: false, nil: null } }],
    ['a null-prototype object', Object.assign(Object.create(null), { meta: { a: 1 } }), { meta: { a: 1 } }],
  ])('accepts %s', (_case, payload, value) => {
    expect(parseHeartbeat(payload)).toEqual({ ok: true, value });
  });

  it.each([
    ['a string', 'hello'],
    ['a number', 42],
    ['a boolean', true],
    ['an array', [{ meta: {} }]],
    ['a class instance', new Payload()],
    ['a Date', new Date(0)],
    ['a Map', new Map([['meta', {}]])],
    ['a Buffer', Buffer.from('{}')],
    ['an unknown key', { meta: {}, streamerId: 'someone-else' }],
    ['only an unknown key', { status: 'online' }],
    ['meta null', { meta: null }],
    ['meta an array', { meta: ['a'] }],
    ['meta a string', { meta: 'chess' }],
    ['meta a class instance', { meta: new Payload() }],
    ['a nested object in meta', { meta: { game: { name: 'chess' } } }],
    ['an array in meta', { meta: { tags: ['a'] } }],
    ['NaN in meta', { meta: { n: Number.NaN } }],
    ['Infinity in meta', { meta: { n: Number.POSITIVE_INFINITY } }],
    ['undefined in meta', { meta: { n: undefined } }],
  ])('refuses %s with invalid_payload', (_case, payload) => {
    const parsed = parseHeartbeat(payload);
    expect(parsed).toEqual({ ok: false, error: { code: 'invalid_payload', message: expect.any(String) } });
  });

  it('names the unknown keys and the bad meta field', () => {
    expect(parseHeartbeat({ meta: {}, foo: 1, bar: 2 })).toMatchObject({ error: { message: expect.stringMatching(/foo, bar/) } });
    expect(parseHeartbeat({ meta: { ok: 1, deep: {} } })).toMatchObject({ error: { message: expect.stringMatching(/meta\.deep/) } });
  });

  it('refuses a meta nested deeper than the stack allows with payload_too_large, without throwing', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 30_000; i += 1) deep = [deep];
    expect(parseHeartbeat({ meta: { title: deep } })).toMatchObject({ ok: false, error: { code: 'payload_too_large' } });
    expect(parseHeartbeat({ meta: deep })).toMatchObject({ ok: false, error: { code: 'payload_too_large' } });
  });

  it('takes exactly 1024 bytes of JSON and refuses 1025 with payload_too_large', () => {
    expect(MAX_HEARTBEAT_BYTES).toBe(1024);
    expect(parseHeartbeat(heartbeatOfBytes(1024))).toMatchObject({ ok: true });
    expect(parseHeartbeat(heartbeatOfBytes(1025))).toEqual({ ok: false, error: { code: 'payload_too_large', message: expect.any(String) } });
  });

  it('counts bytes, not characters (multi-byte UTF-8)', () => {
    const overhead = JSON.stringify({ meta: { k: '' } }).length;
    const chars = Math.floor((1024 - overhead) / 3) + 1; // '€' is 3 bytes: over 1024 bytes, under 1024 chars
    expect(parseHeartbeat({ meta: { k: '€'.repeat(chars) } })).toMatchObject({ ok: false, error: { code: 'payload_too_large' } });
  });

  it('refuses a 64 KiB heartbeat without trouble', () => {
    expect(parseHeartbeat({ meta: { k: 'x'.repeat(64 * 1024) } })).toMatchObject({ ok: false, error: { code: 'payload_too_large' } });
  });
});

describe('parseEnd', () => {
  it.each([
    ['no payload', undefined],
    ['null', null],
    ['an empty object', {}],
  ])('accepts %s', (_case, payload) => {
    expect(parseEnd(payload)).toEqual({ ok: true, value: null });
  });

  it.each([
    ['a key', { reason: 'done' }],
    ['an array', []],
    ['a string', 'end'],
    ['a number', 0],
    ['a class instance', new Payload()],
  ])('refuses %s with invalid_payload', (_case, payload) => {
    expect(parseEnd(payload)).toEqual({ ok: false, error: { code: 'invalid_payload', message: expect.any(String) } });
  });
});

describe('parseStreamerIds', () => {
  const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `s${i}`);

  it.each([1, 2, 100])('accepts %i valid ids, in the order given', (n) => {
    const streamerIds = ids(n).reverse();
    expect(parseStreamerIds({ streamerIds })).toEqual({ ok: true, value: { streamerIds } });
  });

  it('accepts repeated ids as given', () => {
    expect(parseStreamerIds({ streamerIds: ['a', 'a'] })).toEqual({ ok: true, value: { streamerIds: ['a', 'a'] } });
  });

  it('refuses 101 ids with too_many_ids', () => {
    expect(MAX_IDS_PER_REQUEST).toBe(100);
    expect(parseStreamerIds({ streamerIds: ids(101) })).toEqual({ ok: false, error: { code: 'too_many_ids', message: expect.any(String) } });
  });

  it('refuses 0 ids with invalid_payload', () => {
    expect(parseStreamerIds({ streamerIds: [] })).toEqual({ ok: false, error: { code: 'invalid_payload', message: expect.any(String) } });
  });

  it.each([
    ['no payload', undefined],
    ['null', null],
    ['an array of ids', ['a']],
    ['a class instance', new Payload()],
    ['no streamerIds', {}],
    ['an unknown key', { streamerIds: ['a'], extra: true }],
    ['streamerIds a string', { streamerIds: 'a' }],
    ['streamerIds an object', { streamerIds: { 0: 'a' } }],
  ])('refuses %s with invalid_payload', (_case, payload) => {
    expect(parseStreamerIds(payload)).toEqual({ ok: false, error: { code: 'invalid_payload', message: expect.any(String) } });
  });

  it.each([
    [0, ['']],
    [1, ['ok', 'has space']],
    [2, ['ok', 'ok2', 42]],
    [1, ['ok', null]],
    [3, ['a', 'b', 'c', 'x'.repeat(65)]],
    [0, ['a/b', 'ok']],
  ])('refuses a bad id and names its index (%i)', (index, streamerIds) => {
    const parsed = parseStreamerIds({ streamerIds });
    expect(parsed).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    if (parsed.ok) throw new Error('unreachable');
    expect(parsed.error.message).toContain(`streamerIds[${index}]`);
  });

  it('names the first bad index of several', () => {
    const parsed = parseStreamerIds({ streamerIds: ['ok', 'b a d', '', 'ok'] });
    if (parsed.ok) throw new Error('expected a refusal');
    expect(parsed.error.message).toContain('streamerIds[1]');
  });
});
