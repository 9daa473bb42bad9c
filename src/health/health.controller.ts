import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Readiness } from './readiness.js';

@Controller()
export class HealthController {
  constructor(private readonly readiness: Readiness) {}

  /** Liveness: the process answers. Never depends on Redis, so a Redis outage restarts no pod. */
  @Get('healthz')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  ready(@Res({ passthrough: true }) res: Response): { status: 'ready' } | { status: 'unready'; problems: string[] } {
    const problems = this.readiness.problems();
    if (problems.length === 0) return { status: 'ready' };
    res.status(503);
    return { status: 'unready', problems };
  }
}
