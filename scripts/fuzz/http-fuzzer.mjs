// A raw HTTP fuzz client: requests from http-requests.mjs on their own TCP connections, up to 4 at once,
// each tallied by route and the status it got (or what happened instead).
import { connect as tcpConnect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpRequestText } from './http-requests.mjs';
import { fuzzAddress } from './identities.mjs';
import { int, prng, streamSeed } from './prng.mjs';

const MAX_IN_FLIGHT = 4;
const REQUEST_TIMEOUT_MS = 3_000;

/** Resolves with the status of the response (or what happened instead); gives up after `timeoutMs`. */
function rawHttp(port, text, timeoutMs) {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    let head = '';
    const done = (status) => {
      socket.destroy();
      resolve(status);
    };
    socket.setTimeout(timeoutMs, () => done('timeout'));
    socket.on('connect', () => socket.write(text, 'latin1'));
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      // Past any interim answer (100 Continue) to the final one.
      const status = [...head.matchAll(/(?:^|\r\n)HTTP\/\d\.\d (\d{3})/g)].map((m) => m[1]).find((code) => !code.startsWith('1'));
      if (status !== undefined) done(status);
      else if (head.length > 4_000) done('garbled');
    });
    socket.on('error', (error) => done(error.code ?? 'error'));
    socket.on('close', () => done(head === '' ? 'closed' : 'garbled'));
  });
}

export class HttpFuzzer {
  /** `run`: the shared run context (see fuzzers.mjs). */
  constructor(index, run) {
    this.run = run;
    this.r = prng(streamSeed(run.seed, 20_000 + index));
    // Every other one shares one address with the others that do, so HTTP_RATE_PER_ADDRESS answers some 429s.
    this.address = index % 2 === 0 ? fuzzAddress(3, index) : fuzzAddress(3, 0xfff);
    this.tempoMs = [int(this.r, 8, 20), int(this.r, 20, 40)];
    this.inFlight = 0;
  }

  /** Ends at the next beat after the run stops; requests still in flight are left to time out. */
  async loop() {
    const { run, r } = this;
    while (!run.stopping) {
      if (this.inFlight < MAX_IN_FLIGHT) {
        this.inFlight += 1;
        const { route, text } = httpRequestText(r, run.pod.port, this.address, run.tokens);
        run.stats.httpRequests += 1;
        void rawHttp(run.pod.port, text, REQUEST_TIMEOUT_MS).then((status) => {
          this.inFlight -= 1;
          if (!run.stopping) run.stats.http.add(`${route} ${status}`);
        });
      }
      await sleep(int(r, ...this.tempoMs));
    }
  }
}
