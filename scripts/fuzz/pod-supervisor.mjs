// Keeps a pod up for the run: starts it, records each crash (the pod exiting on its own) with its last
// lines, and restarts it, up to MAX_RESTARTS times, so one crash does not hide the next.
import { Pod } from './pod.mjs';

const MAX_RESTARTS = 5;
const TAIL_IN_NOTE = 15;

export class PodSupervisor {
  /** Every pod started, the current one last. */
  pods = [];
  /** `{ at, what, signs, tail }` per pod that died. */
  crashes = [];
  died = new Set();
  current = null;

  /**
   * @param {object} config   what every Pod gets (pod.mjs: secret, redisUrl, keyPrefix, pinning, logs, note)
   * @param {object} hooks
   * @param {() => boolean} hooks.isStopping   once true, a pod's exit is the run's end, not a crash
   * @param {() => number} hooks.elapsed       seconds since the run began, for the crash record
   * @param {() => Promise<void>} hooks.onRestarted   reconnects what cannot find the new port by itself
   * @param {() => void} hooks.onGiveUp        too many crashes, or a restart failed
   */
  constructor(config, hooks) {
    this.config = config;
    this.hooks = hooks;
  }

  /** Resolves with the new pod, listening. */
  async start() {
    const pod = new Pod({ ...this.config, name: `fuzz-pod-${this.pods.length + 1}`, onDied: (dead, status) => this.onDied(dead, status) });
    this.pods.push(pod);
    this.current = await pod.start();
    return pod;
  }

  onDied(pod, status) {
    const { isStopping, elapsed, onRestarted, onGiveUp } = this.hooks;
    const { note } = this.config;
    if (isStopping()) return;
    const what = status.error ?? `pod exited (code ${status.code}, signal ${status.signal})`;
    this.died.add(pod);
    this.crashes.push({ at: elapsed(), what, signs: pod.crashSigns, tail: [...pod.tail] });
    note(`CRASH: ${what}; last lines:\n  ${pod.tail.slice(-TAIL_IN_NOTE).join('\n  ')}`);
    if (this.crashes.length > MAX_RESTARTS) {
      note(`more than ${MAX_RESTARTS} crashes: giving up`);
      onGiveUp();
      return;
    }
    void this.start().then((next) => {
      note(`restarted: pod ${next.name} (pid ${next.pid}) listening on 127.0.0.1:${next.port}`);
      return onRestarted();
    }).catch((error) => {
      note(`restart failed: ${error.message}`);
      onGiveUp();
    });
  }

  /** The crashes, and the crash signs of pods that did not die of them (a pod that died carries its signs in its crash). */
  crashReports() {
    const survivors = this.pods
      .filter((pod) => !this.died.has(pod))
      .flatMap((pod) => pod.crashSigns.map((sign) => ({ at: '?', what: `crash sign in ${pod.name}'s output`, signs: [sign], tail: [] })));
    return [...this.crashes, ...survivors];
  }

  killAll() {
    this.pods.forEach((pod) => pod.kill());
  }
}
