/**
 * Every error connect-bot raises carries a stable `code`; branch on it, never on message text.
 *
 * The classes tell the cause apart: {@link ApiRefusedError} (the AWS API said no), {@link NetworkError} (the request
 * never got an answer), {@link HandlerError} (a bot's handler failed), and the base {@link ConnectBotError} for our
 * own rules (a missed join window, a chat that has ended, an invalid config).
 */
export const ErrorCode = {
  /** An AWS API answered with an error status. See `status` and `awsCode`. */
  ApiRefused: 'CB_API_REFUSED',
  /** A call failed without an answer: connection refused or reset, timeout. */
  Network: 'CB_NETWORK',
  /**
   * The AWS SDK could not get credentials to sign a Connect API call (none configured, no role): nothing was
   * sent. Not retried; fix the credentials.
   */
  NoCredentials: 'CB_NO_CREDENTIALS',
  /** An AWS API answered success without a field connect-bot needs (e.g. no ConnectionToken). Retryable. */
  BadResponse: 'CB_BAD_RESPONSE',
  /** CreateParticipantConnection could not be completed within 15 s of CreateParticipant. */
  JoinWindowMissed: 'CB_JOIN_WINDOW_MISSED',
  /** The chat ended (chat.ended, 403, the bot was removed): the session can do nothing more. */
  ChatEnded: 'CB_CHAT_ENDED',
  /** An action was attempted on a session that has already ended. */
  SessionEnded: 'CB_SESSION_ENDED',
  /** The websocket did not acknowledge `aws/subscribe` after every retry. */
  SubscribeFailed: 'CB_SUBSCRIBE_FAILED',
  /** The websocket could not be opened or closed while opening. */
  SocketFailed: 'CB_SOCKET_FAILED',
  /** A ConnectionCredentials.Expiry was missing, unparsable or already past. */
  InvalidExpiry: 'CB_INVALID_EXPIRY',
  /** GetTranscript did not know the back-fill's starting item; the session back-filled from the newest page. */
  CursorUnknown: 'CB_CURSOR_UNKNOWN',
  /** GetTranscript returned a NextToken it had returned before in the same back-fill; the back-fill stopped there. */
  TranscriptLoop: 'CB_TRANSCRIPT_LOOP',
  /** A bot handler did not finish within the handler timeout. */
  HandlerTimeout: 'CB_HANDLER_TIMEOUT',
  /** A bot handler threw or rejected. */
  HandlerFailed: 'CB_HANDLER_FAILED',
  /** A chat's inbound queue is full; the item was dropped. */
  QueueFull: 'CB_QUEUE_FULL',
  /** A join named a bot that is not loaded. */
  UnknownBot: 'CB_UNKNOWN_BOT',
  /** A join request was malformed. */
  BadJoinRequest: 'CB_BAD_JOIN_REQUEST',
  /** A join did not complete within the join timeout (the flow's Lambda has at most 8 s). */
  JoinTimeout: 'CB_JOIN_TIMEOUT',
  /** The join request was not authenticated (missing or wrong shared secret). */
  Unauthorized: 'CB_UNAUTHORIZED',
  /** An HTTP request's headers and body did not all arrive within the server's request timeout (408). */
  RequestTimeout: 'CB_REQUEST_TIMEOUT',
  /** The join request body exceeds the size limit. */
  PayloadTooLarge: 'CB_PAYLOAD_TOO_LARGE',
  /** The host refuses joins (draining, or at capacity). */
  NotAccepting: 'CB_NOT_ACCEPTING',
  /** The configuration is invalid; the message lists every problem. */
  ConfigInvalid: 'CB_CONFIG_INVALID',
  /** A bot plugin could not be loaded. */
  BotLoadFailed: 'CB_BOT_LOAD_FAILED',
  /** `shutdown.keepFile` exists but cannot be read as the chats a `keep` shutdown wrote. */
  KeepFileInvalid: 'CB_KEEP_FILE_INVALID',
  /** The input to an action was invalid (e.g. an unsupported content type). */
  InvalidArgument: 'CB_INVALID_ARGUMENT',
  /** A bug: something that is not a connect-bot error was thrown (see `cause`). A retry would meet it again. */
  Internal: 'CB_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every connect-bot error. */
export class ConnectBotError extends Error {
  override readonly name: string = 'ConnectBotError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An AWS API answered with an error (4xx/5xx). */
export class ApiRefusedError extends ConnectBotError {
  override readonly name = 'ApiRefusedError';

  constructor(
    /** The SDK operation, e.g. `SendMessage`. */
    readonly operation: string,
    /** HTTP status. */
    readonly status: number,
    /** The AWS error name, e.g. `AccessDeniedException`, `ThrottlingException`. */
    readonly awsCode: string,
    message: string,
    readonly requestId?: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.ApiRefused, `${operation} refused: ${awsCode} (${status}): ${message}`, options);
  }

  /** 429 and 5xx are worth retrying; other refusals are not. */
  get retryable(): boolean {
    return this.status === 429 || this.status >= 500;
  }

  get throttled(): boolean {
    return this.status === 429;
  }
}

/** A call failed without an answer from the service. Always worth retrying. */
export class NetworkError extends ConnectBotError {
  override readonly name = 'NetworkError';

  constructor(
    readonly operation: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.Network, `${operation} failed: ${message}`, options);
  }
}

/** A bot handler threw, rejected or timed out. */
export class HandlerError extends ConnectBotError {
  override readonly name: string = 'HandlerError';
}

/** True for errors that a retry may cure: network failures, throttling and 5xx answers. */
/**
 * `String(thrown)` for anything code may throw, never throwing itself: a null-prototype object, or one whose
 * toString throws, has no string of its own.
 */
export function describeThrown(thrown: unknown): string {
  try {
    return String(thrown);
  } catch {
    return Object.prototype.toString.call(thrown);
  }
}

export function isRetryable(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (error instanceof ApiRefusedError) return error.retryable;
  if (error instanceof ConnectBotError) {
    return (
      error.code === ErrorCode.SocketFailed ||
      error.code === ErrorCode.SubscribeFailed ||
      error.code === ErrorCode.BadResponse
    );
  }
  return false;
}
