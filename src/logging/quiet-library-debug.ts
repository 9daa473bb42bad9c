import { quietLibraryDebug } from './library-debug.js';

// Imported first by main.ts, for its effect: the libraries create their `debug` loggers as they load,
// which must be after this (see quietLibraryDebug). Nest's logger does not exist yet: stderr.
const loadedBefore = quietLibraryDebug();
if (loadedBefore.length > 0) {
  process.stderr.write(`library debug: ${loadedBefore.join(', ')} was loaded before main.ts could quiet it; its disabled loggers still cost every call\n`);
}
