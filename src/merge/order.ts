// SPEC §2.3: one mirror order per pool and source, from every list that
// names the source. Each list `[m0, m1, ...]` says "m0 before m1 before ...
// before the source" (the source last unless the list names it). The lists
// form a graph; a topological sort gives an order that honours all of them.
// Ties and cycles are broken by byte order, so the result depends only on
// the set of lists. Better than upstream: when a cycle has to be broken, the
// source is never picked while another node of the cycle can be.
import { byteOrder } from './scope.js';

interface Graph {
  successors: Map<string, Set<string>>;
  inDegree: Map<string, number>;
}

/**
 * Merged mirror order for `source` from `lists` (each non-empty, without
 * duplicates). The source itself is dropped when it comes out last (it is
 * tried after the mirrors anyway) and kept as a mirror anywhere else.
 */
export function orderMirrors(source: string, lists: readonly (readonly string[])[]): string[] {
  // One list is its own topological order (a chain); by far the common case.
  const only = lists.length === 1 ? lists[0] : undefined;
  if (only) return only[only.length - 1] === source ? only.slice(0, -1) : [...only];
  const graph = buildGraph(source, lists);
  const order = topologicalOrder(source, graph);
  if (order[order.length - 1] === source) order.pop();
  return order;
}

function buildGraph(source: string, lists: readonly (readonly string[])[]): Graph {
  const graph: Graph = { successors: new Map(), inDegree: new Map() };
  const addNode = (n: string): void => {
    if (!graph.successors.has(n)) {
      graph.successors.set(n, new Set());
      graph.inDegree.set(n, 0);
    }
  };
  const addEdge = (from: string, to: string): void => {
    addNode(from);
    addNode(to);
    const out = graph.successors.get(from)!;
    if (out.has(to)) return; // the same pair from several lists counts once
    out.add(to);
    graph.inDegree.set(to, graph.inDegree.get(to)! + 1);
  };
  addNode(source);
  for (const list of lists) {
    list.forEach(addNode);
    for (let i = 0; i + 1 < list.length; i++) addEdge(list[i]!, list[i + 1]!);
    if (!list.includes(source)) addEdge(list[list.length - 1]!, source);
  }
  return graph;
}

/** Kahn's algorithm, smallest ready node first; a cycle is broken only when nothing is ready. */
function topologicalOrder(source: string, graph: Graph): string[] {
  const inDegree = new Map(graph.inDegree);
  const done = new Set<string>();
  const ready = [...inDegree]
    .filter(([, d]) => d === 0)
    .map(([n]) => n)
    .sort(byteOrder);
  const order: string[] = [];
  while (order.length < inDegree.size) {
    const next = ready.length > 0 ? ready.shift()! : breakCycle(source, graph, done);
    order.push(next);
    done.add(next);
    for (const succ of graph.successors.get(next)!) {
      if (done.has(succ)) continue;
      const d = inDegree.get(succ)! - 1;
      inDegree.set(succ, d);
      if (d === 0) insertSorted(ready, succ);
    }
  }
  return order;
}

function insertSorted(sorted: string[], value: string): void {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  sorted.splice(lo, 0, value);
}

/**
 * Nothing is ready, so every remaining node waits on a cycle. Only a node
 * of a strongly connected component that nothing else remaining points into
 * may go next (anything else would jump ahead of its own predecessors);
 * among those, the smallest in byte order that is not the source.
 */
function breakCycle(source: string, graph: Graph, done: ReadonlySet<string>): string {
  const components = stronglyConnected(graph, done);
  const componentOf = new Map<string, number>();
  components.forEach((c, i) => c.forEach((n) => componentOf.set(n, i)));
  const entered = new Set<number>();
  for (const [from, succs] of graph.successors) {
    if (done.has(from)) continue;
    for (const to of succs) {
      if (done.has(to)) continue;
      if (componentOf.get(from) !== componentOf.get(to)) entered.add(componentOf.get(to)!);
    }
  }
  const candidates = components
    .filter((_, i) => !entered.has(i))
    .flat()
    .sort(byteOrder);
  return candidates.find((n) => n !== source) ?? candidates[0]!;
}

/** Tarjan's algorithm over the nodes not yet emitted (iterative: lists can be long). */
function stronglyConnected(graph: Graph, done: ReadonlySet<string>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  for (const root of graph.successors.keys()) {
    if (done.has(root) || index.has(root)) continue;
    const work: Array<{ node: string; succs: Iterator<string> }> = [];
    const visit = (n: string): void => {
      index.set(n, index.size);
      low.set(n, index.get(n)!);
      stack.push(n);
      onStack.add(n);
      work.push({ node: n, succs: graph.successors.get(n)![Symbol.iterator]() });
    };
    visit(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const step = frame.succs.next();
      if (!step.done) {
        const succ = step.value;
        if (done.has(succ)) continue;
        if (!index.has(succ)) visit(succ);
        else if (onStack.has(succ)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(succ)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let n: string;
        do {
          n = stack.pop()!;
          onStack.delete(n);
          component.push(n);
        } while (n !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}
