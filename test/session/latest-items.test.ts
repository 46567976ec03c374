import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LatestItems, timeMs } from '../../src/session/latest-items.js';
import { packUuid, unpackUuid, words } from '../../src/session/recent-ids.js';

const at = (ms: number) => new Date(Date.UTC(2026, 10, 25, 6, 0, 0, 0) + ms).toISOString();

describe('timeMs', () => {
  it('reads the service format like Date.parse, and anything else through Date.parse', () => {
    for (const time of [at(0), at(123), at(59_999), '1999-12-31T23:59:59.999Z', '2026-02-28T00:00:00.000Z']) {
      expect(timeMs(time)).toBe(Date.parse(time));
    }
    expect(timeMs('2026-11-25T06:00:00Z')).toBe(Date.parse('2026-11-25T06:00:00Z'));
    expect(timeMs('2026-11-25T06:00:00.123+00:00')).toBe(Date.parse('2026-11-25T06:00:00.123Z'));
    expect(timeMs('2026-1x-25T06:00:00.123Z')).toBe(Number.NEGATIVE_INFINITY);
    expect(timeMs('')).toBe(Number.NEGATIVE_INFINITY);
    expect(timeMs(undefined)).toBe(Number.NEGATIVE_INFINITY);
  });
});

describe('unpackUuid', () => {
  it('rebuilds every packed UUID exactly, leading zeros and all-f digits included', () => {
    const ids = [
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      '0000000a-000b-000c-000d-00000000000e',
      ...Array.from({ length: 200 }, () => randomUUID()),
    ];
    for (const id of ids) {
      expect(packUuid(id)).toBe(true);
      expect(unpackUuid(words[0]!, words[1]!, words[2]!)).toBe(id);
    }
  });
});

describe('LatestItems', () => {
  const ids = Array.from({ length: 40 }, () => randomUUID());

  it('keeps the latest by time, earliest first; an item later than all is the cursor, an earlier one is not', () => {
    const latest = new LatestItems(3, 12);
    expect(latest.add(ids[0]!, at(10))).toBe(true);
    expect(latest.add(ids[1]!, at(30))).toBe(true);
    expect(latest.add(ids[2]!, at(20))).toBe(false); // overtaken on the socket: not the cursor
    expect(latest.entries().map((e) => e.id)).toEqual([ids[0], ids[2], ids[1]]);
    expect(latest.add(ids[3]!, at(40))).toBe(true);
    expect(latest.entries()).toEqual([
      { id: ids[2], time: at(20) },
      { id: ids[1], time: at(30) },
      { id: ids[3], time: at(40) },
    ]);
    expect(latest.add(ids[4]!, at(5))).toBe(false); // earlier than all of them: not kept
    expect(latest.has(ids[4]!)).toBe(false);
    expect(latest.has(ids[0]!)).toBe(false);
    expect(latest.has(ids[2]!)).toBe(true);
    expect(latest.id(latest.size - 1)).toBe(ids[3]);
  });

  it('lets the items of one millisecond go together, and only while the allowance remains after them', () => {
    const latest = new LatestItems(3, 12);
    latest.add(ids[0]!, at(10));
    latest.add(ids[1]!, at(10));
    latest.add(ids[2]!, at(20));
    latest.add(ids[3]!, at(30));
    // Dropping both items of 10 ms would leave 2 < 3: all four stay.
    expect(latest.size).toBe(4);
    latest.add(ids[4]!, at(40));
    expect(latest.entries().map((e) => e.id)).toEqual([ids[2], ids[3], ids[4]]);
  });

  it('past the limit, the first added of one millisecond leave', () => {
    const latest = new LatestItems(3, 5);
    for (let i = 0; i < 8; i++) expect(latest.add(ids[i]!, at(0))).toBe(true);
    expect(latest.entries().map((e) => e.id)).toEqual(ids.slice(3, 8));
  });

  it('keeps Ids that are not UUIDs, and entries without a time count as earliest', () => {
    const latest = new LatestItems(3, 12);
    latest.add('item-2', at(20));
    latest.add('item-1', undefined);
    latest.add(ids[0]!, at(30));
    expect(latest.entries()).toEqual([
      { id: 'item-1' },
      { id: 'item-2', time: at(20) },
      { id: ids[0], time: at(30) },
    ]);
    expect(latest.has('item-2')).toBe(true);
    expect(latest.has('item-3')).toBe(false);
    latest.add('item-4', at(40));
    expect(latest.entries().map((e) => e.id)).toEqual(['item-2', ids[0], 'item-4']);
    expect(latest.has('item-1')).toBe(false); // gone, though its string may linger in a slot past the end
    latest.clear();
    expect({ size: latest.size, first: latest.id(0), has: latest.has('item-4') }).toEqual({
      size: 0,
      first: undefined,
      has: false,
    });
  });
});
