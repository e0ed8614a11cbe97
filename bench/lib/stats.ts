// Timing, summary statistics and a description of the machine, shared by
// the benchmarks. Figures are printed, never asserted: the machine is shared,
// so the minimum and the median of several runs are the signal.
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** Wall-clock milliseconds of one call. */
export function timeMs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The value below which `p` percent of the values lie (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length, Math.max(1, rank)) - 1]!;
}

export function min(values: readonly number[]): number {
  return values.length === 0 ? NaN : Math.min(...values);
}

export function mib(bytes: number): number {
  return bytes / (1024 * 1024);
}

/** Fixed-point text with at most `digits` decimals, for tables. */
export function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : String(value);
}

export interface MachineInfo {
  nproc: number;
  memoryMiB: number;
  node: string;
  cpuModel: string;
  loadAverage: string;
}

export function machineInfo(): MachineInfo {
  return {
    nproc: cpus().length,
    memoryMiB: Math.round(mib(totalmem())),
    node: process.version,
    cpuModel: cpuModel(),
    loadAverage: loadAverage(),
  };
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    return line ? line.slice(line.indexOf(':') + 1).trim() : (cpus()[0]?.model ?? 'unknown');
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
}

export function printMachine(out: (line: string) => void = console.log): void {
  const m = machineInfo();
  out(`machine: nproc=${m.nproc} memory=${m.memoryMiB} MiB node=${m.node} cpu="${m.cpuModel}" loadavg=${m.loadAverage}`);
}

/** Prints rows as an aligned text table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], out: (line: string) => void = console.log): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  out(line(header));
  for (const r of rows) out(line(r));
}

/** Integer command-line values of `--name a,b,c` or `--name=a,b,c`. */
export function numberListArg(argv: readonly string[], name: string, fallback: number[]): number[] {
  const v = stringArg(argv, name);
  if (v === undefined) return fallback;
  const nums = v.split(',').map((s) => Number(s.replaceAll('_', '')));
  if (nums.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--${name}: expected positive integers, got ${JSON.stringify(v)}`);
  return nums;
}

export function numberArg(argv: readonly string[], name: string, fallback: number): number {
  const [n = fallback] = numberListArg(argv, name, [fallback]);
  return n;
}

export function stringArg(argv: readonly string[], name: string): string | undefined {
  const flag = `--${name}`;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === flag) return argv[i + 1];
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
  }
  return undefined;
}

export function flagArg(argv: readonly string[], name: string): boolean {
  return argv.includes(`--${name}`);
}

/** Runs a benchmark's main with the command line's arguments; exits 0, or 1 with the error's message. */
export function runMain(main: (argv: readonly string[]) => Promise<void>): void {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}
