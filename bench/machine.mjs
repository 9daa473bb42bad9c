// The machine a run happened on, for the report: cores, CPU model, memory, versions, and the load
// average at the start (a busy machine shows there).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';

function read(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function run(command, args) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 5_000 }).trim();
  } catch {
    return 'unknown';
  }
}

export function describeMachine() {
  const model = /^model name\s*:\s*(.+)$/m.exec(read('/proc/cpuinfo'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const os = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(read('/etc/os-release'))?.[1] ?? 'unknown';
  const redis = /v=(\S+)/.exec(run('redis-server', ['--version']))?.[1] ?? 'unknown';
  return {
    nproc: Number(run('nproc', [])) || cpus().length,
    cpuModel: model,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os,
    kernel: release(),
    node: process.version,
    redis,
    loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

export function machineLine(machine) {
  return `${machine.nproc} × ${machine.cpuModel}, ${machine.memoryGiB} GiB RAM, ${machine.os} (Linux ${machine.kernel}), ` +
    `Node ${machine.node}, Redis ${machine.redis}; load average at start ${machine.loadAverageAtStart.join(' / ')}`;
}
