import { z } from 'zod';
import { ConnectBotError, ErrorCode } from '../errors.js';

/**
 * Every timing of a chat session in one place. The defaults follow the service (protocol.md §3–4) and
 * chatjs's proven values; tests shrink them to run hours of behaviour in seconds.
 */
export interface SessionTimings {
  /** `aws/heartbeat` interval; a heartbeat still unanswered at the next tick means a zombie socket. 10 s. */
  heartbeatIntervalMs: number;
  /** Send `aws/ping` (deep heartbeat) every this many heartbeats. 6 (once a minute). */
  pingEveryHeartbeats: number;
  /** Wait for the `aws/subscribe` ack this long before resending. 1 s. */
  subscribeAckTimeoutMs: number;
  /** Resends of `aws/subscribe` before the socket counts as failed. 3. */
  subscribeResends: number;
  /** Give up opening a websocket after this long. 10 s. */
  openTimeoutMs: number;
  /** A websocket URL older than this is not reused; a fresh CreateParticipantConnection is made. 85 s (the service allows 100 s). */
  urlMaxAgeMs: number;
  /** Rotate the socket this long before its Websocket.ConnectionExpiry. 60 s. */
  rotationMarginMs: number;
  /** Rotate a socket at most this long after it opened, whatever ConnectionExpiry says. 59 min. */
  maxSocketAgeMs: number;
  /** Never rotate sooner than this after opening (guards against an expiry in the past or very near). 5 s. */
  rotationFloorMs: number;
  /** Refresh the ConnectionToken this long before its Expiry. 60 s. */
  tokenRefreshMarginMs: number;
  /** Never refresh the token sooner than this after the last refresh. 5 s. */
  tokenRefreshFloorMs: number;
  /** After a missing, unparsable or past Expiry (CB_INVALID_EXPIRY), try again this much later; also the cap of the backoff after failed refreshes. 60 s. */
  invalidExpiryRetryMs: number;
  /** First reconnect backoff; doubles per failure with jitter. 250 ms. */
  reconnectMinDelayMs: number;
  /** Reconnect backoff cap. 30 s. */
  reconnectMaxDelayMs: number;
  /** CreateParticipantConnection must complete this long after CreateParticipant started. 15 s. */
  joinWindowMs: number;
}

export const DEFAULT_SESSION_TIMINGS: Readonly<SessionTimings> = {
  heartbeatIntervalMs: 10_000,
  pingEveryHeartbeats: 6,
  subscribeAckTimeoutMs: 1000,
  subscribeResends: 3,
  openTimeoutMs: 10_000,
  urlMaxAgeMs: 85_000,
  rotationMarginMs: 60_000,
  maxSocketAgeMs: 59 * 60_000,
  rotationFloorMs: 5000,
  tokenRefreshMarginMs: 60_000,
  tokenRefreshFloorMs: 5000,
  invalidExpiryRetryMs: 60_000,
  reconnectMinDelayMs: 250,
  reconnectMaxDelayMs: 30_000,
  joinWindowMs: 15_000,
};

/** The longest delay Node's timers take (2^31 - 1 ms). */
export const MAX_TIMER_MS = 2_147_483_647;

const count = z.number().int().positive();
/** A duration in milliseconds, within the range of Node's timers (the configuration's durations too). */
export const timerMs = count.max(
  MAX_TIMER_MS,
  `must be at most ${MAX_TIMER_MS} ms (2^31 - 1, the longest Node timer)`,
);
const ms = timerMs;

/** What each timing may be: the configuration's `session.*` and `ChatClient`'s `timings` alike. */
export const sessionTimingsSchema = z.object({
  heartbeatIntervalMs: ms,
  pingEveryHeartbeats: count,
  subscribeAckTimeoutMs: ms,
  subscribeResends: z.number().int().min(0),
  openTimeoutMs: ms,
  urlMaxAgeMs: ms,
  rotationMarginMs: ms,
  maxSocketAgeMs: ms,
  rotationFloorMs: ms,
  tokenRefreshMarginMs: ms,
  tokenRefreshFloorMs: ms,
  invalidExpiryRetryMs: ms,
  reconnectMinDelayMs: ms,
  reconnectMaxDelayMs: ms,
  joinWindowMs: ms,
}) satisfies z.ZodType<SessionTimings>;

/**
 * The defaults with `overrides` applied (an `undefined` one is unset). A timing that is not a whole number of
 * milliseconds within Node's timer range, or not a timing at all, is `CB_INVALID_ARGUMENT`: a NaN delay would stall
 * the scheduler every session shares.
 */
export function resolveTimings(overrides: Partial<SessionTimings> = {}): SessionTimings {
  const given = Object.fromEntries(
    Object.entries(overrides ?? {}).filter(([, value]) => value !== undefined),
  );
  const checked = sessionTimingsSchema.partial().strict().safeParse(given);
  if (!checked.success) {
    const problems = checked.error.issues.map((issue) =>
      issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
    );
    throw new ConnectBotError(ErrorCode.InvalidArgument, `invalid timings: ${problems.join('; ')}`);
  }
  return { ...DEFAULT_SESSION_TIMINGS, ...checked.data };
}
