import { jsonDepthOver, MAX_JSON_DEPTH } from '../../../src/presence/transport/connection-guard.js';

describe('jsonDepthOver, the wire check before any packet is parsed', () => {
  it('lets our payloads through, whatever their strings hold', () => {
    expect(jsonDepthOver('2["heartbeat",{"meta":{"title":"[[[[{{{{ \\" ]]]"}}]', MAX_JSON_DEPTH)).toBe(false);
    expect(jsonDepthOver(`42/viewer,1["subscribe",{"streamerIds":["a","b"]}]`, 3)).toBe(false);
  });

  it('stops at the first bracket past the limit, arrays and objects alike', () => {
    expect(jsonDepthOver('[[[1]]]', 3)).toBe(false);
    expect(jsonDepthOver('[[[[1]]]]', 3)).toBe(true);
    expect(jsonDepthOver('{"a":{"b":{"c":{}}}}', 3)).toBe(true);
    expect(jsonDepthOver(`${'['.repeat(30_000)}1${']'.repeat(30_000)}`, MAX_JSON_DEPTH)).toBe(true);
  });

  it('counts depth, not brackets: many siblings are not deep', () => {
    expect(jsonDepthOver(`[${'[1],'.repeat(10_000)}[1]]`, 2)).toBe(false);
  });
});
