/** Up to this many Ids are looked up by a scan of the ring; beyond it a Set indexes them. */
const SCAN_LIMIT = 16;

/**
 * The most recent `capacity` item Ids, for de-duplication with bounded memory. Duplicates come from the
 * overlap of two sockets during rotation, from back-fill after a reconnect, and from the service itself
 * (chatjs #123/#298), always close in time to the original, so a window of recent Ids is enough.
 * Storage grows with use: an idle chat that saw three items holds three Ids, not `capacity` slots, and no
 * Set until it has seen more than a few (most held chats are idle, and a Set costs more than its Ids).
 */
export class RecentIds {
  private index: Set<string> | undefined;
  private readonly ring: string[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.index ? this.index.has(id) : this.ring.includes(id);
  }

  /** Remembers `id`; returns false if it was already known. One hash lookup once the Set exists. */
  add(id: string): boolean {
    const index = this.index;
    if (index) {
      const size = index.size;
      index.add(id);
      if (index.size === size) return false;
    } else if (this.ring.includes(id)) {
      return false;
    }
    const ring = this.ring;
    if (ring.length < this.capacity) {
      ring.push(id);
      if (!index && ring.length > SCAN_LIMIT) this.index = new Set(ring);
      return true;
    }
    index?.delete(ring[this.next]!);
    ring[this.next] = id;
    this.next = (this.next + 1) % this.capacity;
    return true;
  }

  get size(): number {
    return this.ring.length;
  }
}
