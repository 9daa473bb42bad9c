import { type CanActivate, type ExecutionContext, HttpException, HttpStatus, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { TokenVerifier } from './token-verifier.js';

/**
 * HTTP routes for operators (the event feed, the timeline): `Authorization: Bearer <token>` with a valid
 * token of role `operator`, else 401 `{ error: { code: "unauthorized" } }`. Tokens never come in the
 * URL, where logs and proxies keep them.
 */
@Injectable()
export class OperatorGuard implements CanActivate {
  constructor(private readonly verifier: TokenVerifier) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Request>();
    const [scheme, token] = (request.headers.authorization ?? '').split(' ');
    const identity = scheme === 'Bearer' ? await this.verifier.verify(token) : null;
    if (identity?.role === 'operator') return true;
    throw new HttpException(
      { error: { code: 'unauthorized', message: 'this route needs an operator token: Authorization: Bearer <token>' } },
      HttpStatus.UNAUTHORIZED,
      { cause: 'not an operator' },
    );
  }
}
