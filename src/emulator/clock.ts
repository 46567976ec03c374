import { randomBytes, randomUUID } from 'node:crypto';

/** A source of time and timers. Inject a custom one to make emulator tests deterministic. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = { readonly __timer: unique symbol } | NodeJS.Timeout;

/** The real clock. Its timers are unref'd: the HTTP server alone decides whether the process stays up. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, Math.max(0, ms));
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** What an id is for; lets a deterministic generator produce readable ids. */
export type IdKind = 'contact' | 'participant' | 'item' | 'request' | 'connection';

/** Produces ids for contacts, participants, items, requests and socket connections. */
export type IdGenerator = (kind: IdKind) => string;

/** Random UUIDs, as the real service hands out. */
export const randomIds: IdGenerator = () => randomUUID();

/**
 * Readable, repeatable ids (`contact-1`, `item-7`, ...). Useful in tests that assert on exact output.
 *
 * @example
 * const emulator = await startEmulator({ ids: sequentialIds() });
 */
export function sequentialIds(): IdGenerator {
  const counters = new Map<IdKind, number>();
  return (kind) => {
    const next = (counters.get(kind) ?? 0) + 1;
    counters.set(kind, next);
    return `${kind}-${next}`;
  };
}

/** Bearer secrets are always random, whatever id generator is used: they must not be guessable. */
export function newSecret(): string {
  return randomBytes(36).toString('base64url');
}

/** ISO 8601 with milliseconds and `Z`, the format of every ACPS time field. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
