import { HttpException, HttpStatus } from '@nestjs/common';

/** HTTP errors in the contract's shape: `{ error: { code, message } }`. */
export function badRequest(code: string, message: string): HttpException {
  return new HttpException({ error: { code, message } }, HttpStatus.BAD_REQUEST);
}

export function storeUnavailable(error: unknown): HttpException {
  const message = `presence store unavailable: ${error instanceof Error ? error.message : String(error)}`;
  return new HttpException({ error: { code: 'unavailable', message } }, HttpStatus.SERVICE_UNAVAILABLE);
}
