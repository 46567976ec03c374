import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiRefusedError, ConnectBotError, ErrorCode } from '../errors.js';
import type { Logger } from '../observability/log-types.js';
import { scrubText } from '../observability/logger.js';
import type { BotHost } from './host.js';
import { answerClientErrors, readBody, sendJson } from './http.js';
import { parseJoinRequest } from './join-request.js';

export interface JoinServerOptions {
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Shared secret expected as `Authorization: Bearer <secret>`. Required unless `allowUnauthenticated`. */
  secret?: string;
  /** Accept joins without a secret (local development only). */
  allowUnauthenticated?: boolean;
  /** Largest accepted body. Default 64 KiB. */
  bodyLimitBytes?: number;
  /**
   * A request whose headers and body have not all arrived after this long is answered 408 and closed, so a
   * client that never finishes its body holds no connection for long. Default 10 s (a join's caller, the flow's
   * Lambda, has 8 s in all).
   */
  requestTimeoutMs?: number;
  /**
   * An idle keep-alive connection is closed after this long. Default 65 s: longer than a load balancer's idle
   * timeout (an ALB's is 60 s by default), which may otherwise send a request on a connection being closed (502).
   */
  keepAliveTimeoutMs?: number;
  logger?: Logger;
}

/**
 * The answer to each coded error a join can produce. 4xx: the request is wrong, or (409) the chat is over, so
 * the flow should not retry; 502: an upstream failure (the Connect API, the network, the chat websocket, the
 * connection's credentials), worth a retry; 503: the host refuses joins; 504: the join ran out of time. Any
 * other coded error is 502 too ({@link UNMAPPED_STATUS}). 500 is for a bug: in the bot (CB_HANDLER_FAILED, it
 * could not start in the chat; a retry would fail the same way) or in the host (CB_INTERNAL: anything thrown
 * that is not a ConnectBotError).
 */
const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.BadJoinRequest]: 400,
  [ErrorCode.UnknownBot]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.ChatEnded]: 409,
  [ErrorCode.RequestTimeout]: 408,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.HandlerFailed]: 500,
  [ErrorCode.Internal]: 500,
  [ErrorCode.NoCredentials]: 500,
  [ErrorCode.ApiRefused]: 502,
  [ErrorCode.Network]: 502,
  [ErrorCode.BadResponse]: 502,
  [ErrorCode.SocketFailed]: 502,
  [ErrorCode.SubscribeFailed]: 502,
  [ErrorCode.InvalidExpiry]: 502,
  [ErrorCode.NotAccepting]: 503,
  // The session was closed while opening: the host is shutting down (a chat that ended is CB_CHAT_ENDED).
  [ErrorCode.SessionEnded]: 503,
  [ErrorCode.JoinTimeout]: 504,
  [ErrorCode.JoinWindowMissed]: 504,
};

/** Status of a coded error the table does not name. */
const UNMAPPED_STATUS = 502;

/**
 * The error answer for what a join threw; its message is scrubbed of websocket URLs and tokens (scrubText).
 * A refusal Connect would repeat (4xx other than 429: the contact is not active or not found, another bot or an
 * agent is present, access denied) is answered with Connect's status, so the flow does not retry it.
 */
function errorAnswer(error: unknown): { status: number; code: string; message: string } {
  if (!(error instanceof ConnectBotError)) {
    return { status: 500, code: ErrorCode.Internal, message: 'internal error' };
  }
  const refused = error instanceof ApiRefusedError && !error.retryable ? error.status : undefined;
  return {
    status: refused ?? STATUS[error.code] ?? UNMAPPED_STATUS,
    code: error.code,
    message: scrubText(error.message),
  };
}

/** Compares secrets in constant time, whatever their lengths. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The HTTP join endpoint: `POST /join` with the flow-Lambda event or `{ instanceId, contactId, bot?,
 * attributes? }`. Answers `200 {"status":"success","participantId":...}` once the bot is connected, or a
 * 4xx/5xx `{"status":"error","code":...,"message":...}`.
 */
export class JoinServer {
  private readonly server: Server;
  private readonly limit: number;
  private closing = false;

  constructor(
    private readonly host: BotHost,
    private readonly options: JoinServerOptions = {},
  ) {
    if (!options.secret && !options.allowUnauthenticated) {
      throw new ConnectBotError(
        ErrorCode.ConfigInvalid,
        'the join endpoint needs a secret (or allowUnauthenticated: true)',
      );
    }
    this.limit = options.bodyLimitBytes ?? 64 * 1024;
    const requestTimeout = options.requestTimeoutMs ?? 10_000;
    this.server = createServer(
      {
        requestTimeout,
        headersTimeout: requestTimeout,
        // How often Node looks for requests past their timeout (30 s by default).
        connectionsCheckingInterval: Math.min(1000, requestTimeout),
      },
      (req, res) => void this.handle(req, res),
    );
    this.server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000;
    answerClientErrors(this.server, ErrorCode.BadJoinRequest, (_status, code, message) => ({
      status: 'error',
      code,
      message,
    }));
  }

  async listen(): Promise<string> {
    this.server.listen(this.options.port ?? 8080, this.options.host ?? '127.0.0.1');
    await once(this.server, 'listening');
    return this.url;
  }

  /** The join URL, e.g. `http://127.0.0.1:8080/join`. */
  get url(): string {
    const { address, port } = this.server.address() as AddressInfo;
    const host = address.includes(':') ? `[${address}]` : address;
    return `http://${host}:${port}/join`;
  }

  /**
   * Stops accepting connections; requests in progress finish, and their answers close their connections (a
   * keep-alive connection would otherwise hold the close up, and could carry more requests). With `graceMs`,
   * requests still unanswered after it lose their connection.
   */
  async close(graceMs?: number): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (graceMs === undefined) return closed;
    // Requests still unanswered after `graceMs` lose their connection: the stop does not wait on them.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();

    try {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/join')
        return this.answer(res, 404, { status: 'error', code: 'NOT_FOUND', message: 'POST /join' });
      if (req.method !== 'POST') {
        return this.answer(
          res,
          405,
          { status: 'error', code: 'METHOD_NOT_ALLOWED', message: 'POST /join' },
          { allow: 'POST' },
        );
      }
      this.authenticate(req);
      const body = await this.readJson(req);
      const request = parseJoinRequest(body);
      const result = await this.host.join(request);
      this.answer(res, 200, {
        status: 'success',
        participantId: result.participantId,
        bot: result.bot,
        reused: result.reused,
      });
      this.options.logger?.info(
        {
          event: 'join-request',
          contactId: request.contactId,
          bot: result.bot,
          ms: Math.round(performance.now() - started),
        },
        'join answered',
      );
    } catch (error) {
      const { status, code, message } = errorAnswer(error);
      if (status >= 500)
        this.options.logger?.warn({ event: 'join-request-failed', err: error }, 'join failed');
      // A 401 names the scheme it wants (RFC 9110 §15.5.2).
      const headers: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer' } : {};
      this.answer(res, status, { status: 'error', code, message }, headers);
    }
  }

  /** Answers; once closing, the answer ends its connection (Connection: close). */
  private answer(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    sendJson(res, status, body, this.closing ? { ...headers, connection: 'close' } : headers);
  }

  private authenticate(req: IncomingMessage): void {
    const secret = this.options.secret;
    if (!secret) return;
    // The scheme's letter case does not matter (RFC 9110 §11.1).
    const token = /^bearer +(.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
    if (!token || !sameSecret(token, secret)) {
      req.resume();
      throw new ConnectBotError(ErrorCode.Unauthorized, 'missing or wrong shared secret');
    }
  }

  private async readJson(req: IncomingMessage): Promise<unknown> {
    const text = await readBody(req, this.limit);
    try {
      return JSON.parse(text);
    } catch {
      throw new ConnectBotError(ErrorCode.BadJoinRequest, 'body is not valid JSON');
    }
  }
}
