import { runAppExpectingExit } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';

useCleanup();

// Each case: the environment, and the variables every one of which the error output must name.
test.each([
  ['heartbeat not under the LB timeout', { HEARTBEAT_INTERVAL_MS: '60000', LB_IDLE_TIMEOUT_MS: '60000' }, ['HEARTBEAT_INTERVAL_MS', 'LB_IDLE_TIMEOUT_MS']],
  ['heartbeat not under the TTL', { HEARTBEAT_INTERVAL_MS: '50000', PRESENCE_TTL_MS: '40000' }, ['HEARTBEAT_INTERVAL_MS', 'PRESENCE_TTL_MS']],
  ['Socket.IO pings outlasting the LB timeout', { PING_INTERVAL_MS: '40000', PING_TIMEOUT_MS: '30000' }, ['PING_INTERVAL_MS', 'PING_TIMEOUT_MS', 'LB_IDLE_TIMEOUT_MS']],
  ['a number that is not one', { PRESENCE_TTL_MS: 'soon' }, ['PRESENCE_TTL_MS']],
  ['several bad variables at once', { PORT: '70000', DRAIN_MS: '-5', MESSAGE_RATE_LIMIT: 'many' }, ['PORT', 'DRAIN_MS', 'MESSAGE_RATE_LIMIT']],
  ['production without a secret', { NODE_ENV: 'production', JWT_SECRET: undefined }, ['JWT_SECRET']],
  ['a Redis URL of another scheme', { REDIS_URL: 'http://cache.internal:6379' }, ['REDIS_URL']],
])('%s: the process exits non-zero naming the variables, and never listens', async (_name, env, named) => {
  const exit = await runAppExpectingExit({ env });
  expect(exit.code).not.toBe(0);
  expect(exit.code).not.toBeNull();
  for (const variable of named) expect(exit.stderr).toContain(variable);
  expect(exit.stdout + exit.stderr).not.toMatch(/Listening on/);
});
