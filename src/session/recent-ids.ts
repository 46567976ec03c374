/**
 * The most recent `capacity` item Ids, for de-duplication with bounded memory. Duplicates come from the
 * overlap of two sockets during rotation, from back-fill after a reconnect, and from the service itself
 * (chatjs #123/#298), always close in time to the original, so a window of recent Ids is enough.
 * Storage grows with use: an idle chat that saw three items holds three Ids, not `capacity` slots.
 */
export class RecentIds {
  private readonly ids = new Set<string>();
  private readonly ring: string[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Remembers `id`; returns false if it was already known. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    if (this.ring.length < this.capacity) {
      this.ring.push(id);
    } else {
      this.ids.delete(this.ring[this.next]!);
      this.ring[this.next] = id;
      this.next = (this.next + 1) % this.capacity;
    }
    this.ids.add(id);
    return true;
  }

  get size(): number {
    return this.ids.size;
  }
}
