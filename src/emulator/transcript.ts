import type { ChatItem } from './model.js';

export type ScanDirection = 'FORWARD' | 'BACKWARD';
export type SortOrder = 'ASCENDING' | 'DESCENDING';

export type StartPosition = { Id: string } | { AbsoluteTime: string } | { MostRecent: number };

export interface TranscriptQuery {
  maxResults: number;
  scanDirection: ScanDirection;
  sortOrder: SortOrder;
  startPosition?: StartPosition;
  /** Where a previous page stopped (decoded from NextToken); pins the origin so appended items do not shift pages. */
  resume?: TranscriptCursor;
}

/** The scan's first item index and how many items of the scan were already returned. */
export interface TranscriptCursor {
  origin: number;
  offset: number;
}

export interface TranscriptPage {
  items: ChatItem[];
  /** Where the next page starts, when more items remain. */
  next?: TranscriptCursor;
}

export class StartPositionNotFound extends Error {}

export class InvalidNextToken extends Error {}

/**
 * Pages through a chronological transcript as GetTranscript does. The item named by `StartPosition.Id` is
 * **included** (real behaviour unconfirmed, protocol.md §2.7): clients must de-duplicate by Id either way, and
 * the inclusive choice makes a client that forgets to do so fail here rather than in production.
 */
export function pageTranscript(items: readonly ChatItem[], query: TranscriptQuery): TranscriptPage {
  const forward = query.scanDirection === 'FORWARD';
  // Items are only appended: a token's origin (issued for this chain) is always below the length, unless forged.
  if (query.resume && query.resume.origin >= items.length) throw new InvalidNextToken('Invalid NextToken');
  const origin = query.resume?.origin ?? startIndex(items, query.startPosition, forward);
  // Scan order: index k of the scan is items[origin + k] going forward, items[origin - k] going backward.
  const available = forward ? items.length - origin : origin + 1;
  const from = query.resume?.offset ?? 0;
  const count = Math.max(0, Math.min(query.maxResults, available - from));
  const page: ChatItem[] = [];
  for (let k = from; k < from + count; k++) page.push(items[forward ? origin + k : origin - k]!);
  const chronological = forward ? page : page.reverse();
  const sorted = query.sortOrder === 'ASCENDING' ? chronological : chronological.reverse();
  return { items: sorted, next: from + count < available ? { origin, offset: from + count } : undefined };
}

function startIndex(items: readonly ChatItem[], start: StartPosition | undefined, forward: boolean): number {
  if (start === undefined) return forward ? 0 : items.length - 1;
  if ('Id' in start) {
    const index = items.findIndex((item) => item.Id === start.Id);
    if (index < 0) throw new StartPositionNotFound(`No item with Id ${start.Id}`);
    return index;
  }
  if ('MostRecent' in start) return Math.max(0, items.length - 1 - start.MostRecent);
  const at = Date.parse(start.AbsoluteTime);
  if (forward) {
    const index = items.findIndex((item) => Date.parse(item.AbsoluteTime) >= at);
    return index < 0 ? items.length : index;
  }
  let index = items.length - 1;
  while (index >= 0 && Date.parse(items[index]!.AbsoluteTime) > at) index--;
  return index;
}
