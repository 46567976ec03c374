import { packUuid, unpackUuid, words } from './recent-ids.js';

/** One entry of {@link LatestItems}, as snapshots carry it. */
export interface LatestEntry {
  id: string;
  /** ISO 8601 AbsoluteTime; absent when unknown. */
  time?: string;
}

/** Where a participant stands in the transcript: the part of a snapshot that back-fills resume from. */
export interface TranscriptPosition {
  /**
   * The latest transcript item (by AbsoluteTime) this participant saw; back-fill resumes after it. An item that
   * arrives late, after a later one, does not move it back.
   */
  cursor?: string;
  /**
   * The cursor item's AbsoluteTime. Used only when the service does not know the cursor item: then only items
   * after this time are delivered from the most recent transcript page (CB_CURSOR_UNKNOWN).
   */
  cursorTime?: string;
  /**
   * The latest few transcript items (by AbsoluteTime) this participant accepted, earliest first, with their
   * AbsoluteTime: the next back-fill re-reads from the earliest of them, so that an item the socket delivered
   * out of order (or lost behind a later one) before the handover is neither repeated nor missed. Leave it out
   * when resuming from a cursor of your own choosing: its items count as seen.
   */
  recent?: LatestEntry[];
}

const digit = (text: string, at: number) => text.charCodeAt(at) - 48;
const number = (text: string, at: number, count: number) => {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = digit(text, i);
    if (d < 0 || d > 9) return Number.NaN;
    value = value * 10 + d;
  }
  return value;
};

/** `YYYY-MM-DDTHH:MM:SS.sssZ`: the separators in place (the digits are checked as they are read). */
function serviceFormat(time: string): boolean {
  return (
    time.length === 24 &&
    time.charCodeAt(4) === 45 &&
    time.charCodeAt(7) === 45 &&
    time.charCodeAt(10) === 84 &&
    time.charCodeAt(13) === 58 &&
    time.charCodeAt(16) === 58 &&
    time.charCodeAt(19) === 46 &&
    time.charCodeAt(23) === 90
  );
}

/**
 * An AbsoluteTime as milliseconds since the epoch; -Infinity when absent or unreadable (it then counts as
 * earliest). `2026-11-25T06:10:50.123Z`, the service's format, is read without `Date.parse`: this runs for
 * every item.
 */
export function timeMs(time: string | undefined): number {
  if (time === undefined) return Number.NEGATIVE_INFINITY;
  let ms = Number.NaN;
  if (serviceFormat(time)) {
    const year = number(time, 0, 4);
    const month = number(time, 5, 2);
    const day = number(time, 8, 2);
    const hour = number(time, 11, 2);
    const minute = number(time, 14, 2);
    const second = number(time, 17, 2);
    // Date.UTC would roll month 13 or day 31 of February over into a real time; such values, years before 1000
    // (Date.UTC reads 0-99 as 19xx) and days past the 28th go to Date.parse.
    if (
      year >= 1000 &&
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= 28 &&
      hour <= 23 &&
      minute <= 59 &&
      second <= 59
    )
      ms = Date.UTC(year, month - 1, day, hour, minute, second, number(time, 20, 3));
  }
  if (Number.isNaN(ms)) ms = Date.parse(time);
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
}

/**
 * Of the transcript items a session accepted, the latest ones by AbsoluteTime, earliest first (on a tie, the one
 * added first). The last entry is the session's cursor, the latest item it saw; a back-fill starts from the
 * first (see ChatSession.backfillStart).
 *
 * Past `allowance` entries, the earliest time's entries leave, all of one millisecond together and only while
 * `allowance` entries remain after them: AbsoluteTime cannot order the items of one millisecond, so every item
 * added at or after the first entry's time must stay known. Only past `limit` entries (that many items within a
 * few milliseconds) do the first added leave regardless.
 *
 * Entries are numbers, as in {@link RecentIds}: the time in ms and a UUID Id as three words (any other Id is
 * kept as its string). A string kept for a few messages per chat outlives V8's young generation and is copied
 * into the old one, which then needs more full collections; numbers in arrays of unboxed doubles leave nothing
 * behind. The strings are rebuilt when asked for (back-fills, snapshots), which is rare.
 */
export class LatestItems {
  /** Time of each entry (ms; -Infinity when unknown), ascending. */
  private times: number[] = [];
  /** Three words per entry: its packed UUID, or NaN with the Id in `others`. */
  private ids: number[] = [];
  /** Ids that are not UUIDs, by entry; created on the first one. */
  private others: Array<string | undefined> | undefined;
  private count = 0;

  constructor(
    private readonly allowance: number,
    private readonly limit: number,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Adds an accepted item. Returns whether it is now the last entry (the latest seen). */
  add(id: string, time: string | undefined): boolean {
    const ms = timeMs(time);
    const packed = packUuid(id);
    const times = this.times;
    const ids = this.ids;
    let size = this.count;
    let at = size;
    while (at > 0 && times[at - 1]! > ms) at--;
    for (let i = size; i > at; i--) this.move(i - 1, i);
    times[at] = ms;
    if (packed) {
      ids[3 * at] = words[0]!;
      ids[3 * at + 1] = words[1]!;
      ids[3 * at + 2] = words[2]!;
      if (this.others) this.others[at] = undefined;
    } else {
      ids[3 * at] = Number.NaN;
      ids[3 * at + 1] = Number.NaN;
      ids[3 * at + 2] = Number.NaN;
      this.others ??= [];
      this.others[at] = id;
    }
    size++;
    if (size > this.allowance) {
      let drop = 0;
      for (;;) {
        let group = 1;
        while (drop + group < size && times[drop + group] === times[drop]) group++;
        if (size - drop - group < this.allowance) break;
        drop += group;
      }
      if (size - drop > this.limit) drop = size - this.limit;
      if (drop > 0) {
        for (let i = drop; i < size; i++) this.move(i, i - drop);
        size -= drop;
        at -= drop;
      }
    }
    this.count = size;
    return at === size - 1;
  }

  /** Whether `id` is one of the entries. */
  has(id: string): boolean {
    if (!packUuid(id)) {
      const others = this.others;
      if (others) for (let i = 0; i < this.count; i++) if (others[i] === id) return true;
      return false;
    }
    const ids = this.ids;
    for (let i = 0; i < this.count; i++) {
      if (ids[3 * i] === words[0] && ids[3 * i + 1] === words[1] && ids[3 * i + 2] === words[2]) return true;
    }
    return false;
  }

  /** The Id of entry `index` (0: earliest; size − 1: the cursor). */
  id(index: number): string | undefined {
    if (index < 0 || index >= this.count) return undefined;
    const ids = this.ids;
    if (Number.isNaN(ids[3 * index]!)) return this.others?.[index];
    return unpackUuid(ids[3 * index]!, ids[3 * index + 1]!, ids[3 * index + 2]!);
  }

  /** The AbsoluteTime of entry `index` in ms; -Infinity when unknown or out of range. */
  timeMs(index: number): number {
    return index >= 0 && index < this.count ? this.times[index]! : Number.NEGATIVE_INFINITY;
  }

  /** The AbsoluteTime of entry `index` as ISO 8601, or undefined when unknown. */
  time(index: number): string | undefined {
    const ms = this.timeMs(index);
    return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
  }

  /** Every entry, earliest first. */
  entries(): LatestEntry[] {
    const entries: LatestEntry[] = [];
    for (let i = 0; i < this.count; i++) {
      const time = this.time(i);
      entries.push(time ? { id: this.id(i)!, time } : { id: this.id(i)! });
    }
    return entries;
  }

  /** The entries as a snapshot carries them: the last is the cursor. Empty when there are none. */
  position(): TranscriptPosition {
    const last = this.count - 1;
    if (last < 0) return {};
    const cursorTime = this.time(last);
    return { cursor: this.id(last), ...(cursorTime ? { cursorTime } : {}), recent: this.entries() };
  }

  clear(): void {
    this.count = 0;
    this.others = undefined;
  }

  private move(from: number, to: number): void {
    const ids = this.ids;
    this.times[to] = this.times[from]!;
    ids[3 * to] = ids[3 * from]!;
    ids[3 * to + 1] = ids[3 * from + 1]!;
    ids[3 * to + 2] = ids[3 * from + 2]!;
    if (this.others) this.others[to] = this.others[from];
  }
}
