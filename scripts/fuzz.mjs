#!/usr/bin/env node
// Hostile-client fuzzer: `npm run fuzz -- --seconds N [--connections N] [--seed S] [--redis URL]`.
// Starts one pod (`node dist/main.js`, production settings, embedded unless --redis) and for N seconds
// throws random and mutated Engine.IO / Socket.IO frames at it from many raw WebSockets, a few HTTP
// long-polling sessions and a few raw HTTP clients of /v1, while a control streamer heartbeats every
// 250 ms with an ack and a control viewer watches it. Reports crashes (the pod exiting, or printing an
// uncaught error: must be 0), the control's ack round trips (p50/p99/max), the pod's peak RSS
// (/proc/<pid>/status every 250 ms) and V8 heap (/metrics every second), and which frames got which
// answers. With 2+ CPUs the pod is pinned to one and this process to the others, so the fuzzer's own
// work does not take the pod's CPU and the control's p99 is the pod's. Loopback only; stops by itself.
// Last line: `fuzz-result {json}`. Exit 0 when clean, 1 on a crash or a control failure, 2 on bad flags.
//
// This file is the run's order of events; the parts are in scripts/fuzz/.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseOptions } from './fuzz/args.mjs';
import { Control } from './fuzz/control.mjs';
import { startCpuMeter } from './fuzz/cpu.mjs';
import { startFuzzers } from './fuzz/fuzzers.mjs';
import { startMemorySampling } from './fuzz/memory.mjs';
import { LogWatch } from './fuzz/pod-log.mjs';
import { PodSupervisor } from './fuzz/pod-supervisor.mjs';
import { APP_ENTRY, START_TIMEOUT_MS, pinCpus } from './fuzz/pod.mjs';
import { progressLine, report, round1, startLines } from './fuzz/report.mjs';
import { Stats } from './fuzz/stats.mjs';
import { makeTokens } from './fuzz/tokens.mjs';
import { withTimeout } from './fuzz/with-timeout.mjs';

/** A short look at the control on a quiet pod, to read the fuzzing figures against. */
const BASELINE_MS = 1_500;
const PROGRESS_EVERY_MS = 5_000;
const FUZZERS_STOP_TIMEOUT_MS = 10_000;
/** On top of start-up and the run: however the run goes, the process ends. */
const TEARDOWN_GRACE_MS = 60_000;

async function main() {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(APP_ENTRY)) {
    process.stderr.write(`fuzz: ${APP_ENTRY} not found: run 'npm run build' first (npm run fuzz does)\n`);
    process.exit(2);
  }
  const secret = randomBytes(36).toString('base64url');
  const pinning = pinCpus();
  const started = performance.now();
  const elapsed = () => round1((performance.now() - started) / 1000);
  const note = (text) => process.stdout.write(`[${elapsed()} s] ${text}\n`);
  let interrupted = false;
  let wakeEarly;
  const early = new Promise((resolve) => (wakeEarly = resolve));

  const logs = new LogWatch();
  let control = null;
  const pods = new PodSupervisor(
    { secret, redisUrl: options.redisUrl, keyPrefix: `fuzz-${options.seed}-${process.pid}:`, pinning, logs, note },
    // The fuzzers find a restarted pod's port by themselves at their next reconnect; the control is made anew.
    { isStopping: () => run.stopping, elapsed, onRestarted: () => control.start(), onGiveUp: () => wakeEarly() },
  );
  const run = {
    seed: options.seed,
    // Longer runs than an hour would otherwise see their own tokens expire.
    tokens: makeTokens(secret, Math.min(24 * 3_600, Math.max(3_600, options.seconds + 600))),
    stats: new Stats(),
    stopping: false,
    get pod() {
      return pods.current;
    },
  };

  process.on('exit', () => pods.killAll());
  const onSignal = (signal) => {
    if (interrupted) {
      pods.killAll();
      process.exit(130);
    }
    interrupted = true;
    note(`${signal}: stopping early (again to abort)`);
    wakeEarly();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  setTimeout(() => {
    process.stderr.write('fuzz: watchdog: still running long after the end; killing the pod and exiting\n');
    pods.killAll();
    process.exit(3);
  }, options.seconds * 1000 + START_TIMEOUT_MS + TEARDOWN_GRACE_MS).unref();

  process.stdout.write(`${startLines(options, pinning)}\n`);

  let fuzzers = null;
  let peaks = null;
  let measured = null;
  try {
    await pods.start();
    note(`pod ${run.pod.name} (pid ${run.pod.pid}) listening on 127.0.0.1:${run.pod.port}`);
    control = new Control(run);
    await control.start();
    peaks = startMemorySampling(() => run.pod);
    control.phase = 'baseline';
    await Promise.race([sleep(BASELINE_MS), early]);

    control.phase = 'fuzz';
    const meter = startCpuMeter(run.pod);
    fuzzers = startFuzzers(run, options);
    const progress = setInterval(() => note(progressLine({ stats: run.stats, control, peaks, crashes: pods.crashes })), PROGRESS_EVERY_MS);
    await Promise.race([sleep(options.seconds * 1000), early]);
    clearInterval(progress);
    // Over the fuzzing only, before teardown adds its own load.
    measured = meter.stop(run.pod);
  } finally {
    run.stopping = true;
    if (control !== null) control.phase = 'teardown';
    if (fuzzers !== null) {
      fuzzers.stop();
      await withTimeout(fuzzers.ended(), FUZZERS_STOP_TIMEOUT_MS, `fuzzers did not stop within ${FUZZERS_STOP_TIMEOUT_MS / 1000} s`).catch((error) => note(error.message));
    }
    control?.close();
    peaks?.stop();
    const status = await run.pod?.stop();
    if (status) note(`pod stopped: ${status.error ?? `code ${status.code}, signal ${status.signal}`}`);
    pods.killAll();
  }

  const result = report({
    options,
    pinning,
    stats: run.stats,
    control,
    logs,
    crashes: pods.crashReports(),
    peaks,
    wallSeconds: Math.max(measured.seconds, 0.001),
    cpu: measured.cpu,
  });
  const failed = result.crashes > 0 || result.controlAckFailures > 0 || result.controlLost > 0;
  process.exit(failed ? 1 : interrupted ? 130 : 0);
}

main().catch((error) => {
  process.stderr.write(`fuzz: ${error.stack ?? error}\n`);
  process.exit(1);
});
