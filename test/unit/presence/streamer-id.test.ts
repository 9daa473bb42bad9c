import { isStreamerId, STREAMER_ID_PATTERN } from '../../../src/presence/domain/streamer-id.js';

describe('isStreamerId', () => {
  it.each([
    ['1 character', 'a'],
    ['64 characters', 'x'.repeat(64)],
    ['every allowed character', 'AZaz09_.:-'],
    ['digits only', '0123456789'],
    ['punctuation only', '._:-'],
    ['a namespaced id', 'twitch:user_42.main-stage'],
  ])('accepts %s', (_case, id) => {
    expect(isStreamerId(id)).toBe(true);
  });

  it.each([
    ['the empty string', ''],
    ['65 characters', 'x'.repeat(65)],
    ['a space', 'a b'],
    ['a slash', 'a/b'],
    ['a trailing newline', 'abc\n'],
    ['a leading newline', '\nabc'],
    ['a non-ASCII letter', 'café'],
    ['a full-width digit', '１'],
    ['an emoji', 'a😀'],
    ['a wildcard', 'a*'],
    ['a percent escape', 'a%20b'],
    ['a NUL', 'a\u0000b'],
  ])('refuses %s', (_case, id) => {
    expect(isStreamerId(id)).toBe(false);
  });

  it.each([
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an array', ['a']],
    ['an object with toString', { toString: () => 'a' }],
  ])('refuses %s (not a string)', (_case, value) => {
    expect(isStreamerId(value)).toBe(false);
  });

  it('is the pattern of the contract', () => {
    expect(STREAMER_ID_PATTERN.source).toBe('^[A-Za-z0-9_.:-]{1,64}$');
    expect(STREAMER_ID_PATTERN.flags).toBe('');
  });
});
