#!/usr/bin/env node
// `npm run -s token -- --role streamer --sub alice`: builds when dist/cli/token.js is missing or stale,
// then runs it in this process. Build output goes to stderr, so stdout carries only the token and
// `TOKEN=$(npm run -s token -- ...)` captures exactly that.
import { pathToFileURL } from 'node:url';
import { buildIfStale } from './build-if-stale.mjs';

await import(pathToFileURL(buildIfStale('cli/token.js', 'token')).href);
