// Mirror order (SPEC §2.3) on one source named by many lists: the worst case
// for the merge's sort, which the render-scale inputs (one list per source)
// never reach. Lists of 3 mirrors drawn from N/3 names, so the graph is full
// of cycles; and the same lists sorted, so it has none. Prints the median of
// several runs and the scaling ratio time(10N)/time(N).
//
//   node dist/bench/mirror-order.js [--sizes 1000,10000,100000] [--runs 5]
import { orderMirrors } from '../src/merge/order.js';
import { fmt, median, numberArg, numberListArg, printMachine, table, timeMs } from './lib/stats.js';

/** A small deterministic generator: the same lists on every run and machine. */
function lists(n: number, seed = 42): string[][] {
  let state = seed;
  const next = (): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  const names = Math.max(3, Math.floor(n / 3));
  return Array.from({ length: n }, () => {
    const l = new Set<string>();
    while (l.size < 3) l.add(`m${Math.floor(next() * names)}.mirror.example/ns`);
    return [...l];
  });
}

function main(argv: readonly string[]): void {
  const sizes = numberListArg(argv, 'sizes', [1_000, 10_000, 100_000]);
  const runs = numberArg(argv, 'runs', 5);
  printMachine();
  const rows: string[][] = [];
  const medians: Array<{ n: number; cyclic: number; acyclic: number }> = [];
  for (const n of sizes) {
    const cyclic = lists(n);
    const acyclic = cyclic.map((l) => [...l].sort());
    const time = (ls: string[][]): number => median(Array.from({ length: runs }, () => timeMs(() => orderMirrors('src.example/ns', ls))));
    const m = { n, cyclic: time(cyclic), acyclic: time(acyclic) };
    medians.push(m);
    rows.push([String(n), String(Math.floor(n / 3)), fmt(m.cyclic), fmt(m.acyclic)]);
  }
  console.log('\nmirror-order: one source, N lists of 3 mirrors; milliseconds, median of the runs');
  table(['lists', 'mirrors', 'with cycles', 'no cycle'], rows);
  for (let i = 1; i < medians.length; i++) {
    const [a, b] = [medians[i - 1]!, medians[i]!];
    console.log(`  N ${a.n} -> ${b.n} (x${b.n / a.n}): with cycles x${fmt(b.cyclic / a.cyclic, 2)}, no cycle x${fmt(b.acyclic / a.acyclic, 2)}`);
  }
}

main(process.argv.slice(2));
