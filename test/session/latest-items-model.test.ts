import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LatestItems, timeMs } from '../../src/session/latest-items.js';
import { packUuid, unpackUuid, words } from '../../src/session/recent-ids.js';
import { seededRandom } from '../support/random.js';

/** Reference model of LatestItems, written from its doc comment. */
class Model {
  entries: Array<{ id: string; ms: number }> = [];
  constructor(
    private allowance: number,
    private limit: number,
  ) {}
  add(id: string, time: string | undefined): boolean {
    const ms = timeMs(time);
    let at = this.entries.length;
    while (at > 0 && this.entries[at - 1]!.ms > ms) at--;
    const entry = { id, ms };
    this.entries.splice(at, 0, entry);
    if (this.entries.length > this.allowance) {
      for (;;) {
        const first = this.entries[0]!.ms;
        const group = this.entries.filter((e) => e.ms === first).length;
        if (this.entries.length - group < this.allowance) break;
        this.entries.splice(0, group);
      }
      if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    }
    return this.entries.at(-1) === entry;
  }
}

const base = Date.UTC(2026, 10, 25, 6, 0, 0, 0);
const at = (ms: number) => new Date(base + ms).toISOString();

describe('unpackUuid', () => {
  it('round-trips edge and random UUIDs', () => {
    const hex = '0123456789abcdef';
    const r = seededRandom(7);
    const ids = [
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      'ffffffff-ffff-0000-0000-000000000000',
      '00000000-0000-ffff-ffff-ffff00000000',
      '00000000-0000-0000-0000-0000ffffffff',
      '00000001-0000-0000-0001-000000000001',
      'fffffffe-ffff-fffe-ffff-fffeffffffff',
      ...Array.from({ length: 2000 }, () =>
        'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx'.replace(/x/g, () => hex[Math.floor(r() * 16)]!),
      ),
      ...Array.from({ length: 500 }, () => randomUUID()),
    ];
    for (const id of ids) {
      expect(packUuid(id)).toBe(true);
      expect(unpackUuid(words[0]!, words[1]!, words[2]!)).toBe(id);
    }
  });
});

describe('timeMs', () => {
  it('treats a service-format time that Date.parse rejects as unreadable (-Infinity), as documented', () => {
    const bad = [
      '2026-13-01T00:00:00.000Z', // month 13
      '2026-00-10T00:00:00.000Z', // month 0
      '2026-11-00T00:00:00.000Z', // day 0
      '2026-11-25T23:61:00.000Z', // minute 61
      '2026-11-25T23:59:61.000Z', // second 61
      '2026x11x25T06x10x50.123Z', // separators
    ];
    const got = bad.map((time) => [time, timeMs(time), Date.parse(time)]);
    // Every one should be -Infinity ("unreadable"), like Date.parse's NaN.
    expect(got.filter(([, ms]) => ms !== Number.NEGATIVE_INFINITY)).toEqual([]);
  });

  it('reads years 0000-0099 as Date.parse does', () => {
    const time = '0050-01-01T00:00:00.000Z';
    expect(timeMs(time)).toBe(Date.parse(time));
  });
});

describe('LatestItems against a reference model', () => {
  it('matches entries(), the return of add() and has() over random sequences with mixed Ids', () => {
    for (let seed = 1; seed <= 120; seed++) {
      const r = seededRandom(seed);
      const allowance = 1 + Math.floor(r() * 8);
      const limit = allowance + Math.floor(r() * 8);
      const latest = new LatestItems(allowance, limit);
      const model = new Model(allowance, limit);
      const added: string[] = [];
      let clock = 0;
      for (let step = 0; step < 200; step++) {
        const roll = r();
        if (roll < 0.02) {
          latest.clear();
          model.entries = [];
          continue;
        }
        const id = r() < 0.3 ? `other-${seed}-${step}` : randomUUID();
        clock += Math.floor(r() * 3);
        const back = r() < 0.3 ? Math.floor(r() * 10) : 0;
        const time = r() < 0.05 ? undefined : at(clock - back);
        const a = latest.add(id, time);
        const b = model.add(id, time);
        added.push(id);
        const ctx = `seed ${seed} step ${step}`;
        expect(a, ctx).toBe(b);
        expect(
          latest.entries().map((e) => e.id),
          ctx,
        ).toEqual(model.entries.map((e) => e.id));
        expect(latest.size, ctx).toBe(model.entries.length);
        for (const probe of added.slice(-40)) {
          expect(latest.has(probe), `${ctx} has ${probe}`).toBe(model.entries.some((e) => e.id === probe));
        }
      }
    }
  });
});
