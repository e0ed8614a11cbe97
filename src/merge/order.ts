// SPEC §2.3: one mirror order per pool and source, from every list that
// names the source. Each list `[m0, m1, ...]` says "m0 before m1 before ...
// before the source" (the source last unless the list names it). The lists
// form a graph, sorted exactly as OpenShift's runtime-utils sorts it (its
// `topoGraph.Sorted`, used by the Machine Config Operator), so users moving
// from OpenShift see their mirrors tried in the same order:
//
//   Kahn's algorithm with a first-in-first-out queue. The queue starts with
//   the nodes that have no predecessor, in byte order. Take the front node;
//   its successors that have no unprocessed predecessor left go to the back
//   of the queue, sorted. When the queue is empty but nodes remain (a cycle),
//   take the first unused node in byte order.
//
// One change (better than upstream): that cycle break never takes the source
// while another node remains, so the source never comes out first.
//
// The result depends only on the set of lists: the graph is a set of edges,
// and every choice is made by byte order.
import { byteOrder } from './scope.js';

interface Node {
  name: string;
  /** Successors, each once (the same pair from several lists is one edge). */
  outs: Set<Node>;
  /** Predecessors not yet emitted. */
  pending: number;
  used: boolean;
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
  const graph = new Graph();
  for (const list of lists) {
    for (let i = 0; i + 1 < list.length; i++) graph.edge(list[i]!, list[i + 1]!);
    if (!list.includes(source)) graph.edge(list[list.length - 1]!, source);
  }
  const order = graph.sorted(source);
  if (order[order.length - 1] === source) order.pop();
  return order;
}

/**
 * `orderMirrors(source, [list])`: one list is its own order, without a
 * trailing source. The list itself when it has none: the model's lists are
 * read-only, like the inputs', and most sources have exactly one list.
 */
export function chainOrder(source: string, list: readonly string[]): readonly string[] {
  return list[list.length - 1] === source ? list.slice(0, -1) : list;
}

/**
 * The sort on its own, for a graph given as edges (plus nodes without any):
 * what runtime-utils' topo_test pins. `source`, when given, is the node a
 * cycle break takes only when nothing else is left.
 */
export function topologicalOrder(edges: readonly (readonly [string, string])[], isolated: readonly string[] = [], source?: string): string[] {
  const graph = new Graph();
  for (const [from, to] of edges) graph.edge(from, to);
  for (const n of isolated) graph.node(n);
  return graph.sorted(source);
}

class Graph {
  private readonly nodes = new Map<string, Node>();

  node(name: string): Node {
    let n = this.nodes.get(name);
    if (n === undefined) {
      n = { name, outs: new Set(), pending: 0, used: false };
      this.nodes.set(name, n);
    }
    return n;
  }

  edge(from: string, to: string): void {
    const f = this.node(from);
    const t = this.node(to);
    if (f.outs.has(t)) return;
    f.outs.add(t);
    t.pending += 1;
  }

  /**
   * runtime-utils' order, with the one change above. O(V log V + E log E):
   * one sort of all nodes, one sort per batch of freed successors; the queue
   * is an array with a moving head, and cycle breaks advance a cursor over
   * the sorted nodes that never moves back (every node before it is used).
   * Consumes the graph (counts and flags): call once.
   */
  sorted(source: string | undefined): string[] {
    const all = [...this.nodes.values()].sort((a, b) => byteOrder(a.name, b.name));
    const queue = all.filter((n) => n.pending === 0);
    const breakOrder = all.filter((n) => n.name !== source);
    let head = 0;
    let cursor = 0;
    const order: string[] = [];
    while (order.length < all.length) {
      let next = queue[head];
      if (next) head++;
      else {
        while (breakOrder[cursor]?.used) cursor++;
        next = breakOrder[cursor];
        // Never past the end: a used node's successors are always released,
        // so when only the source is left it is already queued.
        if (!next) throw new Error('internal error: mirror order: no node left to break a cycle');
      }
      next.used = true;
      order.push(next.name);
      const freed: Node[] = [];
      for (const succ of next.outs) {
        succ.pending -= 1;
        // A node already used to break a cycle is never queued again.
        if (succ.pending === 0 && !succ.used) freed.push(succ);
      }
      if (freed.length > 1) freed.sort((a, b) => byteOrder(a.name, b.name));
      for (const f of freed) queue.push(f);
    }
    return order;
  }
}
