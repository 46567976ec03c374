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
