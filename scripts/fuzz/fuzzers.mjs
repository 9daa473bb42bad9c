// Starts every fuzz client of a run and stops them together.
//
// The run context they share: `{ seed, tokens, stats, stopping, pod }`; `pod` is whichever pod is current
// (after a crash, the restarted one: the clients find its port at their next reconnect), and `stopping`
// turns true when the run ends, after which nothing is counted any more.
import { HttpFuzzer } from './http-fuzzer.mjs';
import { PollingFuzzer } from './polling-fuzzer.mjs';
import { WsFuzzer } from './websocket-fuzzer.mjs';

/** Spreads the WebSocket handshakes over time, so the pod meets a ramp and not one burst. */
const CONNECT_SPACING_MS = 5;

export function startFuzzers(run, { connections, pollingSessions, httpClients }) {
  const clients = [];
  const loops = [];
  for (let i = 0; i < connections; i += 1) {
    const fuzzer = new WsFuzzer(i, run);
    clients.push(fuzzer);
    setTimeout(() => fuzzer.connect(), i * CONNECT_SPACING_MS);
  }
  for (let i = 0; i < pollingSessions; i += 1) {
    const fuzzer = new PollingFuzzer(i, run);
    clients.push(fuzzer);
    loops.push(fuzzer.loop());
  }
  for (let i = 0; i < httpClients; i += 1) loops.push(new HttpFuzzer(i, run).loop());
  return {
    /** Closes every connection; call with `run.stopping` already true, or they reconnect. */
    stop: () => clients.forEach((fuzzer) => fuzzer.stop()),
    /** Resolves when every polling and HTTP loop has ended. */
    ended: () => Promise.allSettled(loops),
  };
}
