import { randomBytes } from 'node:crypto';
import { type AppEnv, type AppProcess, startApp } from '../../helpers/app-process.js';
import { signToken } from '../../helpers/tokens.js';
import { pin, POD_CPUS } from './cpu-pinning.js';

/** A pod as production runs it, and how to make tokens it accepts. */
export interface ProductionPod {
  readonly app: AppProcess;
  /** A token signed with the pod's secret, valid for an hour. */
  token(sub: string, role: 'streamer' | 'viewer' | 'operator'): string;
  /** The pod's JWT secret, for tokens a test crafts itself. */
  readonly secret: string;
}

/**
 * Starts a pod the way the production manifests do: NODE_ENV=production, heap capped at 384 MB, every
 * limit at its default (the per-address rates too, which other tests turn off), one trusted proxy in
 * front (the ingress), so each simulated client names its address in `X-Forwarded-For`. Only what a
 * test must scale down is passed in `env`. Pinned to its own CPU where the machine allows.
 */
export async function startProductionPod(options: { redisUrl?: string; env?: AppEnv } = {}): Promise<ProductionPod> {
  const secret = randomBytes(36).toString('base64url');
  const app = await startApp({
    ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
    env: {
      NODE_ENV: 'production',
      NODE_OPTIONS: '--max-old-space-size=384',
      JWT_SECRET: secret,
      TRUSTED_PROXY_HOPS: '1',
      HANDSHAKE_RATE_PER_ADDRESS: undefined,
      HTTP_RATE_PER_ADDRESS: undefined,
      SUBSCRIBE_RATE_PER_ADDRESS: undefined,
      CONNECTIONS_PER_ADDRESS: undefined,
      DRAIN_MS: '0',
      ...options.env,
    },
  });
  pin(app.pid, POD_CPUS);
  return { app, secret, token: (sub, role) => signToken({ sub, role, secret }) };
}

/** Headers that make a request come from `address`, as the ingress would say it. */
export const from = (address: string): Record<string, string> => ({ 'X-Forwarded-For': address });

/** The address the suite's attacker comes from; a control client uses another. */
export const ATTACKER = '203.0.113.66';
