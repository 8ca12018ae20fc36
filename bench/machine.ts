// Prints what a benchmark ran on: every figure in bench/ is reported with it.
import { cpus, totalmem, platform, release, arch } from 'node:os';

/** One line naming the CPU, cores, memory, OS, Node version and date. */
export function machineLine(): string {
  const cpu = cpus();
  return `machine: ${cpu[0]?.model ?? 'unknown cpu'} x${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
    `${platform()} ${release()} ${arch()}; node ${process.version}; ${new Date().toISOString()}`;
}
