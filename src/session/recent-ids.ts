/**
 * The smallest de-duplication window allowed: twice the items a back-fill re-reads before its cursor
 * (REORDER_ALLOWANCE in session.ts). Those items themselves are recognised by the session's LatestItems; the
 * window catches what the service repeats around them.
 */
export const MIN_DEDUPE_WINDOW = 16;

/** Up to this many string Ids are looked up by a scan of the ring; beyond it a Set indexes them. */
const SCAN_LIMIT = 16;

/** Hex digit values by char code ('0'-'9', 'a'-'f'); -1 for anything else. */
const HEX = new Int8Array(128).fill(-1);
for (let digit = 0; digit < 16; digit++) HEX[digit.toString(16).charCodeAt(0)] = digit;

/** Where {@link packUuid} leaves the three words of the last Id it packed. */
export const words = new Float64Array(3);

/** `count` hex digits of `id` from `start` as a number (exact up to 13 digits); -1 if one is not a hex digit. */
function hexRun(id: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const digit = HEX[id.charCodeAt(i)] ?? -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/**
 * Packs a canonical lowercase UUID (`8-4-4-4-12` hex digits, the shape of every Amazon Connect item Id) into
 * `words`: digits 1-12, 13-24 and 25-32 as three exact numbers. Returns false for anything else. The string
 * can be rebuilt from the numbers, so two Ids are equal exactly when their words are.
 */
export function packUuid(id: string): boolean {
  if (
    id.length !== 36 ||
    id.charCodeAt(8) !== 45 ||
    id.charCodeAt(13) !== 45 ||
    id.charCodeAt(18) !== 45 ||
    id.charCodeAt(23) !== 45
  )
    return false;
  const a = hexRun(id, 0, 8);
  const b = hexRun(id, 9, 4);
  const c = hexRun(id, 14, 4);
  const d = hexRun(id, 19, 4);
  const e = hexRun(id, 24, 4);
  const f = hexRun(id, 28, 8);
  if (a < 0 || b < 0 || c < 0 || d < 0 || e < 0 || f < 0) return false;
  words[0] = a * 0x10000 + b;
  words[1] = (c * 0x10000 + d) * 0x10000 + e;
  words[2] = f;
  return true;
}

const hex = (value: number, digits: number) => value.toString(16).padStart(digits, '0');

/** The UUID string that {@link packUuid} packed into these three words. */
export function unpackUuid(w0: number, w1: number, w2: number): string {
  const e = w1 % 0x10000;
  const cd = (w1 - e) / 0x10000;
  const d = cd % 0x10000;
  const c = (cd - d) / 0x10000;
  const b = w0 % 0x10000;
  const a = (w0 - b) / 0x10000;
  return `${hex(a, 8)}-${hex(b, 4)}-${hex(c, 4)}-${hex(d, 4)}-${hex(e, 4)}${hex(w2, 8)}`;
}

/**
 * The most recent `capacity` item Ids, for de-duplication with bounded memory. Duplicates come from the
 * overlap of two sockets during rotation, from back-fill after a reconnect, and from the service itself
 * (chatjs #123/#298), always close in time to the original, so a window of recent Ids is enough.
 *
 * Item Ids are UUIDs, and a UUID is kept as three numbers in arrays of unboxed doubles rather than as its
 * string: no object per Id, so remembering an Id leaves nothing for the garbage collector to copy or promote
 * (at thousands of messages a second, the retained Id strings cost more CPU than their look-ups), and 24 bytes
 * per Id instead of about 90. Look-up is a scan of the first words, which the engine does in a tight loop;
 * the default window of 256 is a few hundred comparisons. Ids of any other shape go to a string window of the
 * same capacity, so the window holds the last `capacity` Ids of each kind.
 *
 * Storage grows with use: an idle chat that saw three items holds four slots, not `capacity`.
 */
export class RecentIds {
  /** First word of each packed Id, by slot; NaN (which `indexOf` never finds) in slots not used yet. */
  private heads: number[] = [];
  /** Second and third words of each packed Id, two per slot. */
  private tails: number[] = [];
  /** Slots in use. */
  private count = 0;
  private next = 0;
  /** Ids that are not canonical UUIDs; created on the first one. */
  private strings: RecentStrings | undefined;

  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    if (!packUuid(id)) return this.strings?.has(id) ?? false;
    return this.slotOfPacked() >= 0;
  }

  /** Remembers `id`; returns false if it was already known. */
  add(id: string): boolean {
    if (!packUuid(id)) {
      this.strings ??= new RecentStrings(this.capacity);
      return this.strings.add(id);
    }
    if (this.slotOfPacked() >= 0) return false;
    let slot: number;
    if (this.count < this.capacity) {
      slot = this.count++;
      if (slot === 0) {
        // Literals of exactly four slots: `push` on an empty array would reserve 17, and most chats stay small.
        this.heads = [Number.NaN, Number.NaN, Number.NaN, Number.NaN];
        this.tails = [
          Number.NaN,
          Number.NaN,
          Number.NaN,
          Number.NaN,
          Number.NaN,
          Number.NaN,
          Number.NaN,
          Number.NaN,
        ];
      } else if (slot === this.heads.length) {
        this.heads.push(Number.NaN);
        this.tails.push(Number.NaN, Number.NaN);
      }
    } else {
      slot = this.next;
      this.next = (slot + 1) % this.capacity;
    }
    this.heads[slot] = words[0]!;
    this.tails[2 * slot] = words[1]!;
    this.tails[2 * slot + 1] = words[2]!;
    return true;
  }

  get size(): number {
    return this.count + (this.strings?.size ?? 0);
  }

  /** The slot holding the Id in `words`, or -1. */
  private slotOfPacked(): number {
    const heads = this.heads;
    const tails = this.tails;
    const head = words[0]!;
    for (let slot = heads.indexOf(head); slot >= 0; slot = heads.indexOf(head, slot + 1)) {
      if (tails[2 * slot] === words[1] && tails[2 * slot + 1] === words[2]) return slot;
    }
    return -1;
  }
}

/** A window of recent Ids kept as strings: a ring, indexed by a Set once it holds more than a few. */
class RecentStrings {
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
