import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RecentIds } from '../../src/session/recent-ids.js';

describe('RecentIds', () => {
  it('remembers the most recent ids up to its capacity', () => {
    const ids = new RecentIds(3);
    expect(ids.add('a')).toBe(true);
    expect(ids.add('a')).toBe(false);
    ids.add('b');
    ids.add('c');
    ids.add('d'); // evicts a
    expect(ids.has('a')).toBe(false);
    expect(['b', 'c', 'd'].every((id) => ids.has(id))).toBe(true);
    expect(ids.size).toBe(3);
    ids.add('e'); // evicts b
    expect(ids.has('b')).toBe(false);
    expect(ids.has('e')).toBe(true);
  });
});

describe('RecentIds beyond the scan limit', () => {
  it('keeps the same window when it switches from scanning to an index', () => {
    for (const capacity of [1, 16, 17, 40]) {
      const ids = new RecentIds(capacity);
      for (let i = 0; i < 100; i++) {
        expect(ids.add(`id-${i}`)).toBe(true);
        expect(ids.add(`id-${i}`)).toBe(false);
        expect(ids.size).toBe(Math.min(i + 1, capacity));
        // Exactly the last `capacity` ids are known.
        const oldest = Math.max(0, i + 1 - capacity);
        expect(ids.has(`id-${oldest}`)).toBe(true);
        if (oldest > 0) expect(ids.has(`id-${oldest - 1}`)).toBe(false);
      }
    }
  });
});

describe('RecentIds with UUID item Ids (kept packed)', () => {
  const uuid = (n: number) => {
    const hex = n.toString(16).padStart(32, '0');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };

  it('keeps exactly the last `capacity` Ids, like the string window', () => {
    for (const capacity of [1, 3, 4, 5, 256]) {
      const ids = new RecentIds(capacity);
      const all = Array.from({ length: 600 }, () => randomUUID());
      all.forEach((id, i) => {
        expect(ids.add(id)).toBe(true);
        expect(ids.add(id)).toBe(false);
        expect(ids.size).toBe(Math.min(i + 1, capacity));
        const oldest = Math.max(0, i + 1 - capacity);
        expect(ids.has(all[oldest]!)).toBe(true);
        if (oldest > 0) expect(ids.has(all[oldest - 1]!)).toBe(false);
      });
    }
  });

  it('tells apart Ids that differ in a single digit anywhere', () => {
    const base = 'f9c7f1c3-8a8e-4a4b-9d4e-5d4c7bb8e7f0';
    const ids = new RecentIds(256);
    expect(ids.add(base)).toBe(true);
    for (let i = 0; i < base.length; i++) {
      if (base[i] === '-') continue;
      const variant = `${base.slice(0, i)}${base[i] === '0' ? '1' : '0'}${base.slice(i + 1)}`;
      expect(ids.has(variant)).toBe(false);
      expect(ids.add(variant)).toBe(true);
      expect(ids.add(variant)).toBe(false);
    }
    expect(ids.has(base)).toBe(true);
    // The extremes of every word.
    for (const id of [
      uuid(0),
      uuid(1),
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      'ffffffff-ffff-0000-0000-000000000000',
    ]) {
      expect(ids.add(id)).toBe(true);
      expect(ids.add(id)).toBe(false);
    }
  });

  /** The window as the spec says it: the last `capacity` Ids added, in order. */
  function reference(capacity: number) {
    const window: string[] = [];
    return {
      has: (id: string) => window.includes(id),
      add(id: string) {
        if (window.includes(id)) return false;
        window.push(id);
        if (window.length > capacity) window.shift();
        return true;
      },
    };
  }

  /** A small deterministic generator, so a failure names the same run every time. */
  function lcg(seed: number) {
    let state = seed;
    return (below: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % below;
    };
  }

  it('matches the reference window over long runs that revisit evicted Ids', () => {
    // A small pool of Ids, so Ids come back after they left the window and overwritten slots get reused.
    const pool = Array.from({ length: 40 }, () => randomUUID());
    for (const capacity of [1, 2, 3, 4, 5, 7, 8, 9, 16, 33]) {
      const random = lcg(capacity);
      const ids = new RecentIds(capacity);
      const model = reference(capacity);
      for (let step = 0; step < 4000; step++) {
        const id = pool[random(pool.length)]!;
        if (random(4) === 0)
          expect(ids.has(id), `has, capacity ${capacity}, step ${step}`).toBe(model.has(id));
        else expect(ids.add(id), `add, capacity ${capacity}, step ${step}`).toBe(model.add(id));
      }
    }
  });

  it('keeps Ids of any other shape as strings, apart from the packed ones', () => {
    const ids = new RecentIds(4);
    const lower = 'f9c7f1c3-8a8e-4a4b-9d4e-5d4c7bb8e7f0';
    for (const id of [
      lower,
      lower.toUpperCase(),
      `${lower}x`,
      'f9c7f1c3_8a8e-4a4b-9d4e-5d4c7bb8e7f0',
      'g9c7f1c3-8a8e-4a4b-9d4e-5d4c7bb8e7f0',
      '',
    ]) {
      expect(ids.add(id)).toBe(true);
      expect(ids.add(id)).toBe(false);
      expect(ids.has(id)).toBe(true);
    }
    expect(ids.size).toBe(1 + 4);
  });
});
