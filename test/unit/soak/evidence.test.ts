import { evidence } from '../../soak/evidence.js';

describe("evidence: what the soak keeps of a failure it found", () => {
  const sources = {
    viewers: [
      {
        label: 'viewer-7',
        streamerIds: ['soak-1', 'soak-2'],
        sightings: [
          { streamerId: 'soak-1', status: 'online' as const, version: 10, since: 1, at: 2 },
          { streamerId: 'soak-2', status: 'online' as const, version: 11, since: 1, at: 2 },
        ],
        away: [{ from: 0, until: 1 }],
        socketIds: ['sock-A'],
      },
    ],
    spans: [{ streamerId: 'soak-1', from: 1, until: 5, ending: 'crash' as const }],
    logged: [{ streamerId: 'soak-1', version: 10, at: 1, status: 'online', reason: 'connected' }],
    podLines: [
      {
        label: 'pod-0 run 1',
        lines: ['{"msg":"transition","streamerId":"soak-1"}', '{"msg":"viewer connected","socketId":"sock-A"}', '{"msg":"transition","streamerId":"soak-10"}', '{"msg":"other"}'],
      },
    ],
  };

  test("keeps the viewer's sightings of that streamer, its spans, what was logged, and the pod lines naming the streamer or the viewer's sockets", () => {
    const text = evidence(['viewer-7: soak-1 online 8000 ms after its crash at 5'], sources);
    expect(text).toContain('## viewer-7: soak-1 online 8000 ms after its crash at 5');
    expect(text).toContain('"version":10');
    expect(text).not.toContain('"version":11'); // another streamer's
    expect(text).toContain('"ending":"crash"');
    expect(text).toContain('"reason":"connected"');
    expect(text).toContain('pod lines (2):');
    expect(text).toContain('pod-0 run 1: {"msg":"viewer connected","socketId":"sock-A"}');
    expect(text).not.toContain('soak-10'); // a name that only starts like it
  });

  test('says so for a finding it cannot read', () => {
    expect(evidence(['something else'], sources)).toContain('not of the form');
  });
});
