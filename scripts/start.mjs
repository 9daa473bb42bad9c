#!/usr/bin/env node
// `npm start`: builds when dist/main.js is missing or older than its sources, then runs the app in this
// very process (no child), so SIGTERM from a supervisor reaches the app's drain logic directly.
import { pathToFileURL } from 'node:url';
import { buildIfStale } from './build-if-stale.mjs';

await import(pathToFileURL(buildIfStale('main.js', 'start')).href);
