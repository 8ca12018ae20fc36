// Prints what a benchmark ran on: every figure in bench/ is reported with it.
import { cpus, totalmem, platform, release, arch } from 'node:os';

/** One line naming the CPU, cores, memory, OS, Node version and date. */
export function machineLine(): string {
  const cpu = cpus();
  return (
    `machine: ${cpu[0]?.model ?? 'unknown cpu'} x${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
    `${platform()} ${release()} ${arch()}; node ${process.version}; ${new Date().toISOString()}`
  );
}

/** The same facts as fields, for JSON results. */
export function machineInfo(): { cpu: string; cores: number; memGiB: number; os: string; line: string } {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown cpu',
    cores: cpu.length,
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    os: `${platform()} ${release()} ${arch()}`,
    line: machineLine(),
  };
}

/** The runtime the benchmark ran in (name, version, V8). */
export function runtimeInfo(): { name: string; version: string; v8: string | undefined } {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun !== undefined) return { name: 'bun', version: g.Bun.version, v8: undefined };
  if (g.Deno !== undefined) return { name: 'deno', version: g.Deno.version.deno, v8: process.versions.v8 };
  return { name: 'node', version: process.version, v8: process.versions.v8 };
}

/** Busy CPU seconds of the whole machine so far, all cores (user, nice, sys, irq). */
export function machineBusySeconds(): number {
  let ms = 0;
  for (const c of cpus()) ms += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return ms / 1000;
}
