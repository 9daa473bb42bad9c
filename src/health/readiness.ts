import { Injectable } from '@nestjs/common';

/**
 * Whether this pod should take traffic: not while it drains, and (in Redis mode) not while its store
 * connections are down. Liveness never looks here: a pod without Redis is unready, not dead.
 */
@Injectable()
export class Readiness {
  private draining = false;
  private readonly checks: Array<() => string | null> = [];

  /** Registers a check that returns why the pod is not ready, or null when it is. */
  addCheck(check: () => string | null): void {
    this.checks.push(check);
  }

  startDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** The reasons the pod is not ready; empty when it is. */
  problems(): string[] {
    const problems = this.draining ? ['draining'] : [];
    for (const check of this.checks) {
      const problem = check();
      if (problem !== null) problems.push(problem);
    }
    return problems;
  }
}
