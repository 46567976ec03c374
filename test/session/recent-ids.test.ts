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
