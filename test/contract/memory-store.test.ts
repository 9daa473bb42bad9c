import { MemoryOccupancyStore } from '../../src/presence/infrastructure/memory-occupancy.store.js';
import { describeOccupancyContract } from './occupancy-store.contract.js';
import { MemoryPresenceStore } from '../../src/presence/infrastructure/memory-presence.store.js';
import { MemoryTransitionLog } from '../../src/presence/infrastructure/memory-transition-log.js';
import { describeStoreContract } from './presence-store.contract.js';
import { describeRandomHistories, HISTORY_LOG_RETENTION_MS } from './random-history.contract.js';

// Single node: each store is its own world, so the cross-store tests are not registered.
describeStoreContract('MemoryPresenceStore', async (timing) => {
  const store = new MemoryPresenceStore(timing, Date.now, 'contract-pod');
  return { store, log: store.log, teardown: async () => {} };
});

describeRandomHistories('MemoryPresenceStore', async (timing, clock) => {
  const store = new MemoryPresenceStore(timing, clock, 'history-pod', new MemoryTransitionLog(HISTORY_LOG_RETENTION_MS, clock));
  return { store, log: store.log, teardown: async () => {} };
});

describeOccupancyContract('MemoryOccupancyStore', async () => ({ store: new MemoryOccupancyStore(), teardown: async () => {} }));
