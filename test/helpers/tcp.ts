import { connect } from 'node:net';
import { sleep } from './timing.js';

/** A try's timer that fired this much later than due says the process was starved, not the server slow. */
const STARVED_AFTER_MS = 500;
/** How many times a starved try's timer is set again, at most. */
const STARVED_REARMS = 10;

/**
 * Opens a TCP connection to 127.0.0.1:`port`, optionally writes `send`, and resolves with the first
 * chunk received (or '' when nothing is sent); rejects on refusal or after `timeoutMs`. A timer that
 * fired well past its time means this process's event loop was held (the full-scale soak's generator,
 * its timers 15 s late): the answer may be waiting unread, so the try gets another `timeoutMs`. Every
 * try of a restarted Redis once timed out that way for 30 s, and the soak killed a Redis that answered.
 */
export function tcpExchange(port: number, send?: string, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let rearms = 0;
    let timer: NodeJS.Timeout;
    const arm = (): void => {
      const due = Date.now() + timeoutMs;
      timer = setTimeout(() => {
        if (Date.now() - due > STARVED_AFTER_MS && rearms < STARVED_REARMS) {
          rearms += 1;
          arm();
          return;
        }
        socket.destroy(new Error(`no answer from 127.0.0.1:${port} in ${timeoutMs} ms`));
      }, timeoutMs);
    };
    arm();
    socket.once('close', () => clearTimeout(timer));
    socket.once('error', reject);
    socket.once('connect', () => {
      if (send === undefined) {
        socket.end();
        resolve('');
      } else {
        socket.write(send);
      }
    });
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk.toString('utf8'));
    });
  });
}

/**
 * Polls until 127.0.0.1:`port` accepts a connection (and, with `send`/`expect`, answers as expected).
 * Stops early with an error when `gaveUp()` returns a reason (e.g. the server process exited).
 */
export async function waitForPort(
  port: number,
  options: { timeoutMs?: number; send?: string; expect?: RegExp; gaveUp?: () => string | undefined } = {},
): Promise<void> {
  const { timeoutMs = 10_000, send, expect, gaveUp } = options;
  const deadline = Date.now() + timeoutMs;
  // Gives up only after a try that began past the deadline: on a starved machine (the full-scale soak,
  // its timers 15 s late) the pause after a refused first try could outlast the whole wait, and the
  // server, up by then, was killed as never ready.
  for (;;) {
    const reason = gaveUp?.();
    if (reason !== undefined) throw new Error(reason);
    const triedAt = Date.now();
    let lastError: string;
    try {
      const answer = await tcpExchange(port, send);
      if (expect === undefined || expect.test(answer)) return;
      lastError = `unexpected answer ${JSON.stringify(answer)}`;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (triedAt >= deadline) throw new Error(`127.0.0.1:${port} not ready within ${timeoutMs} ms (${lastError})`);
    await sleep(25);
  }
}
