import type { Clock } from './clock.js';

/** A token bucket: `rate` tokens per second, at most `burst` stored. */
export interface Rate {
  rate: number;
  burst: number;
}

/**
 * The real default quotas (deployment-scale.md §4.3). Participant Service buckets are per instance;
 * Connect API buckets are per account and Region. SendMessage and SendEvent share one bucket.
 */
export const DEFAULT_QUOTAS: Readonly<Record<string, Rate>> = {
  CreateParticipantConnection: { rate: 6, burst: 9 },
  SendMessageOrEvent: { rate: 10, burst: 15 },
  GetTranscript: { rate: 8, burst: 12 },
  DisconnectParticipant: { rate: 3, burst: 5 },
  CreateParticipant: { rate: 5, burst: 8 },
  UpdateContactAttributes: { rate: 10, burst: 15 },
  GetContactAttributes: { rate: 10, burst: 15 },
  DescribeContact: { rate: 10, burst: 15 },
  StartChatContact: { rate: 5, burst: 8 },
  StopContact: { rate: 2, burst: 5 }, // no quota of its own: the Connect API default
};

/** Which quota bucket an operation draws from. */
export function bucketOf(operation: string): string {
  return operation === 'SendMessage' || operation === 'SendEvent' ? 'SendMessageOrEvent' : operation;
}

/** Enforces quotas as token buckets. Disabled by default, like a test that does not care about quotas. */
export class QuotaEnforcer {
  private rates: Record<string, Rate> = { ...DEFAULT_QUOTAS };
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  enabled = false;

  constructor(private readonly clock: Clock) {}

  configure(enabled: boolean, overrides: Record<string, Rate> = {}): void {
    this.enabled = enabled;
    this.rates = { ...DEFAULT_QUOTAS, ...overrides };
    this.buckets.clear();
  }

  /** Takes one token for `operation` in `scope` (an instance id or the account); false means throttle. */
  take(operation: string, scope: string): boolean {
    if (!this.enabled) return true;
    const name = bucketOf(operation);
    const rate = this.rates[name];
    if (!rate) return true;
    const key = `${scope}/${name}`;
    const now = this.clock.now();
    const bucket = this.buckets.get(key) ?? { tokens: rate.burst, at: now };
    bucket.tokens = Math.min(rate.burst, bucket.tokens + ((now - bucket.at) / 1000) * rate.rate);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
