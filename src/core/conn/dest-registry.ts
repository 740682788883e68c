// Destinations as small integers for the connection table's records: a record holds an index
// (0 = none), and the registry maps it back, counting references so an index is reused only once
// no entry points to its destination any more (a deleted destination stays reachable from the
// connections that still use it, as the kernel's dest trash keeps it).
import type { Destination } from '../service/destination.js';

export class DestRegistry {
  private readonly dests: (Destination | undefined)[] = [undefined];
  private readonly refs: number[] = [0];
  private readonly free: number[] = [];
  private readonly indexOf = new Map<Destination, number>();

  /** The destination at index i (undefined for 0). */
  at(i: number): Destination | undefined {
    return this.dests[i];
  }

  /** The index of d, taking one reference. */
  ref(d: Destination): number {
    let i = this.indexOf.get(d);
    if (i === undefined) {
      i = this.free.pop() ?? this.dests.length;
      this.dests[i] = d;
      this.refs[i] = 0;
      this.indexOf.set(d, i);
    }
    this.refs[i]++;
    return i;
  }

  /** Drops one reference to index i (0 is nothing); the last one frees the index. */
  unref(i: number): void {
    if (i === 0) return;
    if (--this.refs[i] === 0) {
      this.indexOf.delete(this.dests[i]!);
      this.dests[i] = undefined;
      this.free.push(i);
    }
  }
}
