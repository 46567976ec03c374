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
