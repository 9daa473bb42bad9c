import { HttpException, HttpStatus, Logger } from '@nestjs/common';

const logger = new Logger('HttpError');

/** HTTP errors in the contract's shape: `{ error: { code, message } }`. */
export function badRequest(code: string, message: string): HttpException {
  return new HttpException({ error: { code, message } }, HttpStatus.BAD_REQUEST);
}

/** The store could not be reached: 503 with a generic message; the cause goes to the log, never to the client. */
export function storeUnavailable(error: unknown): HttpException {
  logger.warn({ msg: 'store call failed', error: error instanceof Error ? error.message : String(error) });
  return new HttpException({ error: { code: 'unavailable', message: 'presence store unavailable; try again' } }, HttpStatus.SERVICE_UNAVAILABLE);
}
