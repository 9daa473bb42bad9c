// Progress on stderr: a line per step, and a ticker line every second while a phase runs.
const started = performance.now();

function stamp() {
  const s = (performance.now() - started) / 1000;
  return `[bench ${s.toFixed(1).padStart(6)}s]`;
}

export function log(message) {
  process.stderr.write(`${stamp()} ${message}\n`);
}

/** Prints `line()` every second until the returned function is called. */
export function ticker(line) {
  const timer = setInterval(() => {
    try {
      log(`  … ${line()}`);
    } catch {
      // a ticker never breaks a run
    }
  }, 1_000);
  return () => clearInterval(timer);
}

export function elapsedSeconds() {
  return (performance.now() - started) / 1000;
}

/** Awaits `promise` with a ticker line every second meanwhile. */
export async function ticking(promise, line) {
  const stop = ticker(line);
  try {
    return await promise;
  } finally {
    stop();
  }
}
