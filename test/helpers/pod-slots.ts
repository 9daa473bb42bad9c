import { type AppProcess, startApp, type StartAppOptions } from './app-process.js';
import { portBelowEphemeralRange } from './free-port.js';
import { waitUntil } from './timing.js';

/**
 * Pods on ports chosen before they start, as a load balancer's upstream list names a Deployment's pods:
 * the balancer is configured once with every slot, and a slot whose pod is not running refuses
 * connections, which the balancer skips. Pods are named `pod-<slot>`.
 */
export class PodSlots {
  /** The running pods by name. */
  readonly pods = new Map<string, AppProcess>();

  private constructor(readonly ports: readonly number[]) {}

  static async reserve(count: number): Promise<PodSlots> {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await portBelowEphemeralRange(ports));
    return new PodSlots(ports);
  }

  /** Starts the pod of `slot` and resolves once its /readyz answers 200. */
  async start(slot: number, options: StartAppOptions): Promise<AppProcess> {
    const name = `pod-${slot}`;
    const app = await startApp({ ...options, env: { ...options.env, PORT: String(this.ports[slot]), POD_NAME: name } });
    await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
    this.pods.set(name, app);
    return app;
  }

  get(slot: number): AppProcess {
    const app = this.pods.get(`pod-${slot}`);
    if (app === undefined) throw new Error(`pod-${slot} is not running`);
    return app;
  }

  /** SIGTERMs the pod of `slot` and resolves with its exit code and how long it took to exit. */
  async sigterm(slot: number, timeoutMs: number): Promise<{ code: number | null; exitMs: number }> {
    const app = this.get(slot);
    const signalledAt = Date.now();
    const code = await app.stop('SIGTERM', timeoutMs);
    this.pods.delete(`pod-${slot}`);
    return { code, exitMs: Date.now() - signalledAt };
  }
}
