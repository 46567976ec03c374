import pRetry from 'p-retry';
import { ApiRefusedError, ConnectBotError, ErrorCode, isRetryable, NetworkError } from '../errors.js';

/** Throttles calls before they go out. The host plugs in token buckets per Connect quota. */
export interface RateLimiter {
  /** Resolves when one call of `operation` in `scope` (an instance id or the account) may go out. */
  acquire(operation: string, scope: string, signal?: AbortSignal): Promise<void>;
  /**
   * The service answered 429: pause that bucket. `sentAt` (performance.now() when that request went out) tells a
   * 429 that continues throttling from one of a burst already answered.
   */
  throttled(operation: string, scope: string, sentAt?: number): void;
}

/**
 * `aborted`: cut short by its caller's signal (the session ended, a shutdown), not a failure of the call.
 * `unsent`: the SDK could not sign it (no credentials), so no request went out.
 */
export type CallOutcome = 'ok' | 'throttled' | 'refused' | 'network' | 'aborted' | 'unsent';

/** One attempt of one API call, for metrics. */
export interface ApiCallRecord {
  operation: string;
  outcome: CallOutcome;
  durationMs: number;
  status?: number;
}

export interface RetryOptions {
  /** Retries after the first attempt for throttling, 5xx and network failures. Default 4. */
  retries: number;
  /** First backoff delay (ms); doubles each retry, randomized ×1–2. Default 200. */
  minDelayMs: number;
  /** Backoff cap (ms). Default 5 000. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { retries: 4, minDelayMs: 200, maxDelayMs: 5000 };

/** What the SDK's credential providers throw when they have nothing to sign with. */
const CREDENTIALS_ERRORS = new Set(['CredentialsProviderError', 'TokenProviderError']);

/**
 * Maps whatever the SDK threw to an {@link ApiRefusedError} (an answer), `CB_NO_CREDENTIALS` (nothing could be
 * signed, so nothing was sent) or a {@link NetworkError} (no answer).
 */
export function classifyError(operation: string, error: unknown): ConnectBotError {
  if (error instanceof ConnectBotError) return error;
  const name = (error as { name?: unknown } | null)?.name;
  if (typeof name === 'string' && CREDENTIALS_ERRORS.has(name)) {
    return new ConnectBotError(
      ErrorCode.NoCredentials,
      `${operation}: no AWS credentials to sign it with: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const e = error as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number; requestId?: string };
  };
  const status = e?.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 400) {
    return new ApiRefusedError(
      operation,
      status,
      e.name ?? 'UnknownError',
      e.message ?? '',
      e.$metadata?.requestId,
      {
        cause: error,
      },
    );
  }
  return new NetworkError(operation, e?.message ?? String(error), { cause: error });
}

/**
 * Runs SDK calls with quota-aware, jittered retries. The SDK itself makes one attempt per call, so every
 * attempt passes the rate limiter and is visible to metrics; a 429 pauses the bucket instead of hammering it.
 */
export class ApiCaller {
  constructor(
    private readonly retry: RetryOptions,
    private readonly limiter: RateLimiter | undefined,
    private readonly record: (call: ApiCallRecord) => void,
  ) {}

  async call<T>(
    operation: string,
    scope: string,
    send: (signal?: AbortSignal) => Promise<T>,
    options: {
      signal?: AbortSignal;
      /**
       * Gives up waiting for a quota token before the first request goes out, rejecting with its reason. Once a
       * request was sent (it may have taken effect), its retries go on. Callers pass this or `signal`, not both:
       * while it applies, the wait listens to it alone.
       */
      waitSignal?: AbortSignal;
      retries?: number;
      maxRetryTimeMs?: number;
    } = {},
  ): Promise<T> {
    // Once a request went out, it may have taken effect: the retries of it no longer give up on a quota wait.
    let sent = false;
    // A caller that gave up before calling: nothing goes out.
    (options.waitSignal ?? options.signal)?.throwIfAborted();
    return pRetry(
      async () => {
        const waitSignal = sent ? options.signal : (options.waitSignal ?? options.signal);
        await this.limiter?.acquire(operation, scope, waitSignal);
        sent = true;
        const started = performance.now();
        try {
          const result = await send(options.signal);
          this.record({ operation, outcome: 'ok', durationMs: performance.now() - started });
          return result;
        } catch (raw) {
          const error = classifyError(operation, raw);
          const durationMs = performance.now() - started;
          if (error instanceof ApiRefusedError) {
            const outcome = error.throttled ? 'throttled' : 'refused';
            this.record({ operation, outcome, durationMs, status: error.status });
            if (error.throttled) this.limiter?.throttled(operation, scope, started);
          } else {
            const outcome = options.signal?.aborted
              ? 'aborted'
              : error.code === ErrorCode.NoCredentials
                ? 'unsent'
                : 'network';
            this.record({ operation, outcome, durationMs });
          }
          throw error;
        }
      },
      {
        retries: options.retries ?? this.retry.retries,
        minTimeout: this.retry.minDelayMs,
        maxTimeout: this.retry.maxDelayMs,
        factor: 2,
        randomize: true,
        unref: true,
        ...(options.maxRetryTimeMs !== undefined ? { maxRetryTime: options.maxRetryTimeMs } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        shouldRetry: ({ error }) => isRetryable(error),
      },
    );
  }
}
