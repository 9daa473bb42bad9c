import { describeConnectionId } from '../../../src/presence/transport/connection-id.js';

describe('describeConnectionId: the pod and the start of a connection, from its id', () => {
  test.each<[string, { pod: string | null; since: number | null }]>([
    ['pod-a:Xy_-9zQ@1796216136550', { pod: 'pod-a', since: 1796216136550 }],
    ['host.example-1234:Xy_-9zQ@1', { pod: 'host.example-1234', since: 1 }],
    // Ids written by an earlier version: the pod only.
    ['pod-a:Xy_-9zQ', { pod: 'pod-a', since: null }],
    ['no-pod-at-all', { pod: null, since: null }],
  ])('%s', (id, described) => {
    expect(describeConnectionId(id)).toEqual(described);
  });
});
