import { describe, expect, it } from 'vitest';
import type { ChatItem } from '../../src/emulator/model.js';
import {
  pageTranscript,
  StartPositionNotFound,
  type TranscriptQuery,
} from '../../src/emulator/transcript.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/** Items i0..i(n-1), one second apart. */
function items(n: number): ChatItem[] {
  return Array.from({ length: n }, (_, i) => ({
    AbsoluteTime: new Date(T0 + i * 1000).toISOString(),
    ContentType: 'text/plain',
    Content: `m${i}`,
    Id: `i${i}`,
    Type: 'MESSAGE',
    InitialContactId: 'c',
    ContactId: 'c',
  }));
}

const ids = (page: { items: ChatItem[] }) => page.items.map((item) => item.Id);

function query(overrides: Partial<TranscriptQuery>): TranscriptQuery {
  return { maxResults: 10, scanDirection: 'BACKWARD', sortOrder: 'DESCENDING', ...overrides };
}

/** Follows `next` until the scan is exhausted, returning every page's ids. */
function walk(all: readonly ChatItem[], first: TranscriptQuery): string[][] {
  const pages: string[][] = [];
  let q: TranscriptQuery | undefined = first;
  while (q) {
    const page = pageTranscript(all, q);
    pages.push(ids(page));
    q = page.next ? { ...first, resume: page.next } : undefined;
    if (pages.length > 100) throw new Error('pagination does not end');
  }
  return pages;
}

describe('pageTranscript', () => {
  const five = items(5);

  it('scans BACKWARD from the newest item without a StartPosition', () => {
    expect(walk(five, query({ maxResults: 2 }))).toEqual([['i4', 'i3'], ['i2', 'i1'], ['i0']]);
    expect(walk(five, query({ maxResults: 2, sortOrder: 'ASCENDING' }))).toEqual([
      ['i3', 'i4'],
      ['i1', 'i2'],
      ['i0'],
    ]);
    expect(pageTranscript(five, query({})).next).toBeUndefined();
  });

  it('scans FORWARD from a StartPosition Id, which is included', () => {
    const from = { scanDirection: 'FORWARD' as const, startPosition: { Id: 'i1' } };
    expect(walk(five, query({ ...from, sortOrder: 'ASCENDING', maxResults: 3 }))).toEqual([
      ['i1', 'i2', 'i3'],
      ['i4'],
    ]);
    expect(ids(pageTranscript(five, query({ ...from, maxResults: 2 })))).toEqual(['i2', 'i1']);
    // BACKWARD from an Id includes it too and goes towards the oldest.
    expect(ids(pageTranscript(five, query({ startPosition: { Id: 'i2' }, sortOrder: 'ASCENDING' })))).toEqual(
      ['i0', 'i1', 'i2'],
    );
  });

  it('refuses an unknown StartPosition Id', () => {
    expect(() => pageTranscript(five, query({ startPosition: { Id: 'nope' } }))).toThrow(
      StartPositionNotFound,
    );
  });

  it('counts MostRecent back from the newest item', () => {
    const forward = { scanDirection: 'FORWARD' as const, sortOrder: 'ASCENDING' as const };
    expect(ids(pageTranscript(five, query({ ...forward, startPosition: { MostRecent: 0 } })))).toEqual([
      'i4',
    ]);
    expect(ids(pageTranscript(five, query({ ...forward, startPosition: { MostRecent: 2 } })))).toEqual([
      'i2',
      'i3',
      'i4',
    ]);
    expect(ids(pageTranscript(five, query({ ...forward, startPosition: { MostRecent: 99 } })))).toHaveLength(
      5,
    );
  });

  it('starts at an AbsoluteTime: FORWARD at the first item at or after it, BACKWARD at the last at or before it', () => {
    const at = (ms: number) => ({ AbsoluteTime: new Date(T0 + ms).toISOString() });
    const asc = { sortOrder: 'ASCENDING' as const };
    expect(
      ids(pageTranscript(five, query({ ...asc, scanDirection: 'FORWARD', startPosition: at(1500) }))),
    ).toEqual(['i2', 'i3', 'i4']);
    expect(
      ids(pageTranscript(five, query({ ...asc, scanDirection: 'FORWARD', startPosition: at(2000) }))),
    ).toEqual(['i2', 'i3', 'i4']);
    expect(ids(pageTranscript(five, query({ ...asc, startPosition: at(1500) })))).toEqual(['i0', 'i1']);
    expect(ids(pageTranscript(five, query({ ...asc, startPosition: at(1000) })))).toEqual(['i0', 'i1']);
    // Beyond either end: an empty page and no NextToken.
    const after = pageTranscript(five, query({ scanDirection: 'FORWARD', startPosition: at(60_000) }));
    expect(after).toEqual({ items: [], next: undefined });
    expect(pageTranscript(five, query({ startPosition: at(-60_000) }))).toEqual({
      items: [],
      next: undefined,
    });
  });

  it('handles an empty transcript', () => {
    expect(pageTranscript([], query({}))).toEqual({ items: [], next: undefined });
    expect(pageTranscript([], query({ scanDirection: 'FORWARD', startPosition: { MostRecent: 3 } }))).toEqual(
      {
        items: [],
        next: undefined,
      },
    );
  });

  it('pins the origin so items appended between pages do not shift a BACKWARD walk', () => {
    const growing = items(5);
    const first = pageTranscript(growing, query({ maxResults: 2 }));
    expect(ids(first)).toEqual(['i4', 'i3']);
    growing.push(...items(7).slice(5));
    const second = pageTranscript(growing, query({ maxResults: 2, resume: first.next }));
    expect(ids(second)).toEqual(['i2', 'i1']);
  });

  it('lets a FORWARD walk pick up items appended between pages', () => {
    const growing = items(3);
    const forward = query({
      maxResults: 2,
      scanDirection: 'FORWARD',
      sortOrder: 'ASCENDING',
      startPosition: { Id: 'i0' },
    });
    const first = pageTranscript(growing, forward);
    expect(ids(first)).toEqual(['i0', 'i1']);
    growing.push(...items(5).slice(3));
    const second = pageTranscript(growing, { ...forward, resume: first.next });
    expect(ids(second)).toEqual(['i2', 'i3']);
    expect(ids(pageTranscript(growing, { ...forward, resume: second.next }))).toEqual(['i4']);
  });
});
