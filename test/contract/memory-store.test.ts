import { MemoryPresenceStore } from '../../src/presence/infrastructure/memory-presence.store.js';
import { describeStoreContract } from './presence-store.contract.js';

// Single node: each store is its own world, so the cross-store tests are not registered.
describeStoreContract('MemoryPresenceStore', async (timing) => {
  const store = new MemoryPresenceStore(timing, Date.now, 'contract-pod');
  return { store, log: store.log, teardown: async () => {} };
});
