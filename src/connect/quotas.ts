import { EventEmitter } from 'eventemitter3';
import { ConnectBotError, ErrorCode } from '../errors.js';
import type { RateLimiter } from './caller.js';

/** A token bucket: `rate` calls per second on average, bursts of up to `burst`. */
export interface QuotaRate {
  rate: number;
  burst: number;
}

/**
 * Connect's default quotas (deployment-scale.md §4.3). Participant Service buckets are per instance;
 * Connect API buckets (CreateParticipant, UpdateContactAttributes, StopContact) are per account and Region.
 * SendMessage and SendEvent share one bucket.
 */
export const DEFAULT_QUOTAS: Readonly<Record<string, QuotaRate>> = {
  SendMessageOrEvent: { rate: 10, burst: 15 },
  CreateParticipantConnection: { rate: 6, burst: 9 },
  GetTranscript: { rate: 8, burst: 12 },
  DisconnectParticipant: { rate: 3, burst: 5 },
  CreateParticipant: { rate: 5, burst: 8 },
  UpdateContactAttributes: { rate: 10, burst: 15 },
  StopContact: { rate: 2, burst: 5 },
};

/** The bucket an operation draws from. */
export function quotaBucket(operation: string): string {
  return operation === 'SendMessage' || operation === 'SendEvent' ? 'SendMessageOrEvent' : operation;
}

export interface TokenBucketOptions {
  /** Per-bucket rates; buckets not listed are not limited. Default {@link DEFAULT_QUOTAS}. */
  rates?: Record<string, QuotaRate>;
  /** First pause of a bucket after a 429; doubles while 429s keep coming. Default 1 000 ms. */
  throttlePauseMs?: number;
  /** Longest pause after repeated 429s. Default 30 000 ms. */
  maxThrottlePauseMs?: number;
}

/** Typed events of a {@link TokenBucketLimiter}, for metrics. */
export interface TokenBucketEvents {
  /** A call waited `waitedMs` for a token of `bucket`. */
  wait: [bucket: string, waitedMs: number];
  /** The service answered 429; `bucket` is paused for `pauseMs`. */
  throttled: [bucket: string, pauseMs: number];
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
  enqueuedAt: number;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface Bucket {
  name: string;
  rate: QuotaRate;
  tokens: number;
  refilledAt: number;
  pausedUntil: number;
  pauseMs: number;
  lastThrottleAt: number;
  waiters: Waiter[];
  timer: NodeJS.Timeout | undefined;
}

/**
 * Keeps calls inside Connect's quotas, per instance (or account) and per bucket. Callers wait in FIFO order
 * for a token; a 429 pauses the bucket with exponential backoff instead of letting every caller retry into it.
 *
 * @example
 * const client = new ChatClient({ region, rateLimiter: new TokenBucketLimiter() });
 */
export class TokenBucketLimiter extends EventEmitter<TokenBucketEvents> implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly rates: Record<string, QuotaRate>;
  private readonly minPause: number;
  private readonly maxPause: number;
  /** Total time callers spent waiting, per bucket name (ms). */
  readonly waited = new Map<string, number>();

  constructor(options: TokenBucketOptions = {}) {
    super();
    this.rates = { ...DEFAULT_QUOTAS, ...options.rates };
    this.minPause = options.throttlePauseMs ?? 1000;
    this.maxPause = options.maxThrottlePauseMs ?? 30_000;
  }

  acquire(operation: string, scope: string, signal?: AbortSignal): Promise<void> {
    const bucket = this.bucket(operation, scope);
    if (!bucket) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (bucket.waiters.length === 0 && this.takeToken(bucket)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, enqueuedAt: performance.now() };
      if (signal) {
        waiter.signal = signal;
        waiter.onAbort = () => {
          bucket.waiters = bucket.waiters.filter((w) => w !== waiter);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      bucket.waiters.push(waiter);
      this.schedule(bucket);
    });
  }

  throttled(operation: string, scope: string, sentAt?: number): void {
    const bucket = this.bucket(operation, scope);
    if (!bucket) return;
    // Sent before the last 429 came back: one more answer of the burst that began this pause, not a sign that
    // throttling goes on, so it does not double the pause (a burst of N concurrent calls would otherwise pause
    // the bucket for 2^N seconds).
    if (sentAt !== undefined && sentAt < bucket.lastThrottleAt) return;
    const now = performance.now();
    const recent = now - bucket.lastThrottleAt < 2 * bucket.pauseMs + 1000;
    bucket.pauseMs = recent
      ? Math.min(this.maxPause, Math.max(this.minPause, bucket.pauseMs * 2))
      : this.minPause;
    bucket.lastThrottleAt = now;
    bucket.pausedUntil = now + bucket.pauseMs;
    bucket.tokens = 0;
    this.emit('throttled', bucket.name, bucket.pauseMs);
    if (bucket.waiters.length > 0) this.schedule(bucket);
  }

  /** Rejects every waiter and stops all timers (shutdown). */
  close(): void {
    for (const bucket of this.buckets.values()) {
      if (bucket.timer) clearTimeout(bucket.timer);
      bucket.timer = undefined;
      for (const waiter of bucket.waiters.splice(0)) {
        if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
        waiter.reject(
          new ConnectBotError(ErrorCode.SessionEnded, 'the rate limiter was closed (shutting down)'),
        );
      }
    }
  }

  private bucket(operation: string, scope: string): Bucket | undefined {
    const name = quotaBucket(operation);
    const rate = this.rates[name];
    if (!rate) return undefined;
    const key = `${scope}\u0000${name}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = {
        name,
        rate,
        tokens: rate.burst,
        refilledAt: performance.now(),
        pausedUntil: 0,
        pauseMs: 0,
        lastThrottleAt: Number.NEGATIVE_INFINITY,
        waiters: [],
        timer: undefined,
      };
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  private takeToken(bucket: Bucket): boolean {
    const now = performance.now();
    if (now < bucket.pausedUntil) return false;
    const from = Math.max(bucket.refilledAt, bucket.pausedUntil);
    bucket.tokens = Math.min(bucket.rate.burst, bucket.tokens + ((now - from) / 1000) * bucket.rate.rate);
    bucket.refilledAt = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Arms one timer per bucket for when the next token (or the end of a pause) is due. */
  private schedule(bucket: Bucket): void {
    if (bucket.timer) clearTimeout(bucket.timer);
    const now = performance.now();
    const untilToken = bucket.tokens >= 1 ? 0 : ((1 - bucket.tokens) / bucket.rate.rate) * 1000;
    const delay = Math.max(bucket.pausedUntil - now, untilToken, 1);
    bucket.timer = setTimeout(() => this.drain(bucket), delay);
    bucket.timer.unref();
  }

  private drain(bucket: Bucket): void {
    bucket.timer = undefined;
    while (bucket.waiters.length > 0 && this.takeToken(bucket)) {
      const waiter = bucket.waiters.shift()!;
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
      const waitedMs = performance.now() - waiter.enqueuedAt;
      this.waited.set(bucket.name, (this.waited.get(bucket.name) ?? 0) + waitedMs);
      this.emit('wait', bucket.name, waitedMs);
      waiter.resolve();
    }
    if (bucket.waiters.length > 0) this.schedule(bucket);
  }
}
