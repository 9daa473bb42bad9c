// The fuzzer's flags, checked once: every bad value is a usage error (exit 2), never a surprise mid-run.
import { parseArgs } from 'node:util';

const USAGE = `usage: npm run fuzz -- [--seconds N] [--connections N] [--seed S] [--redis redis://127.0.0.1:PORT]

  --seconds N       how long to fuzz (default 60)
  --connections N   raw WebSocket fuzz connections (default 50); a tenth as many polling sessions and
                    raw HTTP clients come on top
  --seed S          PRNG seed, 0..4294967295 (default: from the clock). Printed, so a run's frame
                    choices can be replayed (their timing, and so the server's answers, still vary)
  --redis URL       run the pod in Redis mode against this Redis (loopback only; keys under a
                    fresh fuzz-<seed>-<pid>: prefix); default: embedded single-node mode
  --help            this text`;

function usageError(message) {
  process.stderr.write(`fuzz: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function wholeNumber(flag, text, fallback, min, max) {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) usageError(`${flag} must be a whole number from ${min} to ${max}, not '${text}'`);
  return Number(text);
}

/** The fuzzer talks to loopback only, so a Redis elsewhere is refused rather than trusted. */
function loopbackRedisUrl(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    usageError(`--redis: not a URL: '${text}'`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') usageError(`--redis: redis:// or rediss:// only, not '${url.protocol}'`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host !== 'localhost' && host !== '::1' && !/^127\.\d+\.\d+\.\d+$/.test(host)) {
    usageError(`--redis: the fuzzer talks to loopback only (127.x.x.x, localhost, [::1]), not '${url.hostname}'`);
  }
  return text;
}

/**
 * The run's options, or an exit: 0 after --help, 2 on a bad flag.
 * @returns {{ seconds: number, connections: number, pollingSessions: number, httpClients: number, seed: number, redisUrl: string | null }}
 */
export function parseOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        seconds: { type: 'string' },
        connections: { type: 'string' },
        seed: { type: 'string' },
        redis: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    usageError(error.message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const connections = wholeNumber('--connections', values.connections, 50, 1, 2_000);
  const companions = Math.max(2, Math.round(connections / 10));
  return {
    seconds: wholeNumber('--seconds', values.seconds, 60, 1, 86_400),
    connections,
    pollingSessions: companions,
    httpClients: companions,
    seed: wholeNumber('--seed', values.seed, Date.now() % 2 ** 32, 0, 2 ** 32 - 1),
    redisUrl: values.redis === undefined ? null : loopbackRedisUrl(values.redis),
  };
}
