import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { badRequest } from './http-errors.js';

/** A query parameter written as plain digits, from `min` to `max`; `fallback` when absent; else 400 `invalid_query`. */
export function parseWholeNumber(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw badRequest('invalid_query', `${name} must be a whole number from ${min} to ${max}`);
  return value;
}

/**
 * A query parameter is one string: Express makes `?a=1&a=2` an array (and, with an extended query
 * parser, `?a[b]=1` an object), which no handler expects (one threw a TypeError, a 500). Either is
 * answered 400 `invalid_query`.
 */
@Injectable()
export class OneQueryValue implements PipeTransform<unknown, string | undefined> {
  transform(value: unknown, metadata: ArgumentMetadata): string | undefined {
    if (value === undefined || typeof value === 'string') return value;
    throw badRequest('invalid_query', `${metadata.data ?? 'a query parameter'} must be given once, as plain text`);
  }
}
