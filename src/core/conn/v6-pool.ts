// IPv6 addresses of the connection table's entries. A record has room for one 32-bit address per
// side; an IPv6 entry keeps its three addresses (client, virtual, server: 48 bytes) here and the
// record holds their index, so IPv4 entries pay nothing for IPv6.

/** Bytes per entry: client at 0, virtual at 16, server at 32. */
export const V6_ENTRY = 48;

export class V6AddrPool {
  /** The addresses of entry i start at i * V6_ENTRY. Only alloc() writes it (and replaces it when it grows): read it afresh after an alloc. */
  bytes = new Uint8Array(0);
  private readonly free: number[] = [];
  private high = 0;

  /** Stores an entry's addresses (server all zero when there is none yet); returns its index. */
  alloc(client: Uint8Array, virt: Uint8Array, server: Uint8Array | undefined): number {
    let i = this.free.pop();
    if (i === undefined) {
      i = this.high++;
      if ((i + 1) * V6_ENTRY > this.bytes.length) {
        const b = new Uint8Array(Math.max(V6_ENTRY * 64, this.bytes.length * 2));
        b.set(this.bytes);
        this.bytes = b;
      }
    }
    const o = i * V6_ENTRY;
    this.bytes.set(client, o);
    this.bytes.set(virt, o + 16);
    if (server) this.bytes.set(server, o + 32);
    else this.bytes.fill(0, o + 32, o + V6_ENTRY);
    return i;
  }

  /** Entry i is free for the next alloc (its bytes are overwritten then). */
  release(i: number): void {
    this.free.push(i);
  }
}
