import { CreateParticipantCommand } from '@aws-sdk/client-connect';
import {
  CreateParticipantConnectionCommand,
  type CreateParticipantConnectionResponse,
  DisconnectParticipantCommand,
} from '@aws-sdk/client-connectparticipant';
import { EventEmitter } from 'eventemitter3';
import {
  ApiCaller,
  type ApiCallRecord,
  DEFAULT_RETRY,
  type RateLimiter,
  type RetryOptions,
} from '../connect/caller.js';
import { type AwsClientOptions, type AwsClients, awsClients } from '../connect/clients.js';
import { ApiRefusedError, ConnectBotError, ErrorCode } from '../errors.js';
import { type Logger, silentLogger } from '../observability/log-types.js';
import { type Scheduler, sharedScheduler } from '../transport/scheduler.js';
import { MIN_DEDUPE_WINDOW } from './recent-ids.js';
import {
  ChatSession,
  checkText,
  type EndReason,
  type LifecycleEvent,
  type SessionContext,
  type SessionSnapshot,
} from './session.js';
import { resolveTimings, type SessionTimings } from './timings.js';

export interface ChatClientOptions extends AwsClientOptions {
  /** Heartbeat, refresh, rotation and backoff timings. */
  timings?: Partial<SessionTimings>;
  /** Retries of API calls (throttling, 5xx, network). */
  retry?: Partial<RetryOptions>;
  /** Called before every API call; the host plugs Connect's quotas in here. */
  rateLimiter?: RateLimiter;
  /** A pino (or compatible) logger. Default: silent. */
  logger?: Logger;
  /** Item Ids remembered per chat for de-duplication. Default 256; at least 16 (MIN_DEDUPE_WINDOW). */
  dedupeWindow?: number;
  /** Timer source for every session. Default: one shared per process. */
  scheduler?: Scheduler;
  /** Prebuilt SDK clients (tests); default: shared per region and endpoint. */
  aws?: AwsClients;
}

export interface JoinOptions {
  instanceId: string;
  contactId: string;
  /** Shown to the customer. 1–256 characters. */
  displayName: string;
  /** The chain's first contact id (differs from contactId after a transfer). Default: contactId. */
  initialContactId?: string;
  /** CreateParticipant idempotency token, reused on retries. Default: a fresh UUID per join. */
  clientToken?: string;
  /**
   * Gives up the join while it still waits for a CreateParticipant quota token (rejecting with the signal's
   * reason). Once CreateParticipant is sent, the join goes on: the participant may already exist.
   */
  signal?: AbortSignal;
}

/** Typed events of a {@link ChatClient}. */
export interface ChatClientEvents {
  /** One attempt of one API call finished. */
  apiCall: [call: ApiCallRecord];
  sessionOpened: [session: ChatSession];
  /** A session's `error` event, forwarded (recovered or retried problems, e.g. CB_INVALID_EXPIRY). */
  sessionError: [session: ChatSession, error: ConnectBotError];
  /** A session reconnected (with the reason), rotated its socket, or refreshed its token. */
  lifecycle: [session: ChatSession, event: LifecycleEvent, reason?: string];
  sessionEnded: [session: ChatSession, reason: EndReason];
}

/**
 * Joins chats as a CUSTOM_BOT and holds them. One client serves any number of chats in a process: it owns
 * the shared SDK clients, the retry and quota policy, and the one scheduler all sessions' timers run on.
 *
 * @example
 * const client = new ChatClient({ region: 'us-east-1' });
 * const session = await client.join({ instanceId, contactId, displayName: 'Helper' });
 * session.on('message', (item) => {
 *   if (!session.isOwn(item)) session.sendMessage('Hello!').catch((error) => console.error(error.code));
 * });
 */
export class ChatClient extends EventEmitter<ChatClientEvents> {
  /** Sessions that have not ended. */
  readonly sessions = new Set<ChatSession>();
  /** Sessions that `sessionOpened` announced, so that each has one `sessionEnded`. */
  private readonly announced = new WeakSet<ChatSession>();
  /** Joins and resumes before their session exists (see {@link opening}). */
  private readonly openings = new Set<AbortController>();
  /**
   * Joins whose CreateParticipant went through but whose CreateParticipantConnection failed, by instance and
   * contact, until their join window closes: the participant is still in the chat, pending, and cannot be made to
   * leave without a connection. Connect allows one custom participant per contact, so a new CreateParticipant
   * would be refused 409 until the service drops it; a retry instead repeats the first one's ClientToken, which
   * gives back the same participant, and connects it.
   */
  private readonly unconnected = new Map<
    string,
    { clientToken: string; displayName: string; until: number }
  >();
  private readonly ctx: SessionContext;

  constructor(options: ChatClientOptions) {
    super();
    const dedupeWindow = options.dedupeWindow ?? 256;
    if (!Number.isInteger(dedupeWindow) || dedupeWindow < MIN_DEDUPE_WINDOW) {
      throw new ConnectBotError(
        ErrorCode.InvalidArgument,
        `dedupeWindow must be an integer of at least ${MIN_DEDUPE_WINDOW}: ${dedupeWindow}`,
      );
    }
    const retry = { ...DEFAULT_RETRY, ...options.retry };
    // A listener's failure (metrics, say) changes nothing: the call's outcome is the call's.
    const caller = new ApiCaller(retry, options.rateLimiter, (call) =>
      this.guarded('apiCall', () => this.emit('apiCall', call)),
    );
    this.ctx = {
      aws: options.aws ?? awsClients(options),
      caller,
      scheduler: options.scheduler ?? sharedScheduler,
      timings: resolveTimings(options.timings),
      dedupeWindow,
      logger: options.logger ?? silentLogger,
      sessionError: (session, error) => this.emit('sessionError', session, error),
      lifecycle: (session, event, reason) => this.emit('lifecycle', session, event, reason),
      sessionEnded: (session, reason) => {
        this.sessions.delete(session);
        // A session that ended while opening was never announced: its join or resume rejects instead.
        if (this.announced.delete(session)) this.emit('sessionEnded', session, reason);
      },
    };
  }

  get timings(): Readonly<SessionTimings> {
    return this.ctx.timings;
  }

  get aws(): AwsClients {
    return this.ctx.aws;
  }

  /**
   * Adds a CUSTOM_BOT to a chat and connects it: CreateParticipant, then CreateParticipantConnection
   * (`ConnectParticipant: true`) inside the 15 s window the service allows (measured from the start of
   * CreateParticipant; a miss is `CB_JOIN_WINDOW_MISSED`), then the websocket. Resolves once the socket is
   * subscribed.
   */
  async join(options: JoinOptions): Promise<ChatSession> {
    checkText('join', 'displayName', options.displayName, 256);
    checkText('join', 'instanceId', options.instanceId, 256);
    checkText('join', 'contactId', options.contactId, 256);
    if (options.initialContactId !== undefined)
      checkText('join', 'initialContactId', options.initialContactId, 256);
    if (options.clientToken !== undefined) checkText('join', 'clientToken', options.clientToken, 500);
    const closing = this.opening();
    try {
      return await this.joinOpening(options, closing.signal);
    } finally {
      this.openings.delete(closing);
    }
  }

  private async joinOpening(options: JoinOptions, closing: AbortSignal): Promise<ChatSession> {
    const { caller, aws, timings } = this.ctx;
    const started = performance.now();
    const key = `${options.instanceId}\u0000${options.contactId}`;
    const pending = this.unconnected.get(key);
    const retry =
      options.clientToken === undefined &&
      pending !== undefined &&
      pending.until > started &&
      pending.displayName === options.displayName
        ? pending
        : undefined;
    // A retry's window is the first attempt's: the service counts it from the participant's creation.
    const deadline = retry?.until ?? started + timings.joinWindowMs;
    const clientToken = options.clientToken ?? retry?.clientToken ?? crypto.randomUUID();
    const created = await caller.call(
      'CreateParticipant',
      'account',
      (signal) =>
        aws.connect.send(
          new CreateParticipantCommand({
            InstanceId: options.instanceId,
            ContactId: options.contactId,
            ClientToken: clientToken,
            ParticipantDetails: { ParticipantRole: 'CUSTOM_BOT', DisplayName: options.displayName },
          }),
          { abortSignal: signal },
        ),
      {
        maxRetryTimeMs: timings.joinWindowMs,
        waitSignal: options.signal ? AbortSignal.any([options.signal, closing]) : closing,
      },
    );
    const participantToken = created.ParticipantCredentials?.ParticipantToken;
    const participantId = created.ParticipantId;
    if (!participantToken || !participantId) {
      throw new ConnectBotError(
        ErrorCode.BadResponse,
        'CreateParticipant returned no participant credentials',
      );
    }
    let connection: CreateParticipantConnectionResponse;
    try {
      const remaining = deadline - performance.now();
      if (remaining <= 0)
        throw new ConnectBotError(ErrorCode.JoinWindowMissed, 'CreateParticipant used up the join window');
      connection = await this.connectParticipant(options.instanceId, participantToken, remaining);
      this.unconnected.delete(key);
    } catch (error) {
      const late = performance.now() >= deadline;
      const removed = error instanceof ApiRefusedError && error.status === 404; // the service dropped the bot
      if (late || removed || (error as ConnectBotError).code === ErrorCode.JoinWindowMissed) {
        this.unconnected.delete(key);
        throw new ConnectBotError(
          ErrorCode.JoinWindowMissed,
          `CreateParticipantConnection did not complete within ${timings.joinWindowMs} ms of CreateParticipant`,
          { cause: error },
        );
      }
      this.rememberUnconnected(key, { clientToken, displayName: options.displayName, until: deadline });
      throw error;
    }
    return this.open(
      {
        instanceId: options.instanceId,
        contactId: options.contactId,
        initialContactId: options.initialContactId ?? options.contactId,
        participantId,
        participantToken,
        displayName: options.displayName,
      },
      connection,
      true,
      closing,
    );
  }

  /**
   * Re-attaches to a participant that already exists (another host's, or ours before a restart): a fresh
   * CreateParticipantConnection, a new socket, and a back-fill from `cursor`. A chat that ended is
   * `CB_CHAT_ENDED`. `signal` gives up while it still waits for a CreateParticipantConnection quota token.
   * `leaveIfClosed`: a session closed while it opens (closeAll) leaves the chat, as a join's does; by default it
   * stays, for another host to resume.
   */
  async resume(
    snapshot: SessionSnapshot,
    options: { signal?: AbortSignal; leaveIfClosed?: boolean } = {},
  ): Promise<ChatSession> {
    for (const field of ['instanceId', 'contactId', 'participantId', 'participantToken'] as const)
      checkText('resume', `snapshot.${field}`, snapshot?.[field], field === 'participantToken' ? 4096 : 256);
    const closing = this.opening();
    try {
      return await this.resumeOpening(snapshot, options, closing.signal);
    } finally {
      this.openings.delete(closing);
    }
  }

  private async resumeOpening(
    snapshot: SessionSnapshot,
    options: { signal?: AbortSignal; leaveIfClosed?: boolean },
    closing: AbortSignal,
  ): Promise<ChatSession> {
    let connection: CreateParticipantConnectionResponse;
    try {
      connection = await this.connectParticipant(
        snapshot.instanceId,
        snapshot.participantToken,
        this.ctx.timings.joinWindowMs,
        options.signal ? AbortSignal.any([options.signal, closing]) : closing,
      );
    } catch (error) {
      if (error instanceof ApiRefusedError && (error.status === 403 || error.status === 404)) {
        throw new ConnectBotError(ErrorCode.ChatEnded, 'the chat has ended for this participant', {
          cause: error,
        });
      }
      throw error;
    }
    return this.open(snapshot, connection, options.leaveIfClosed === true, closing);
  }

  private rememberUnconnected(
    key: string,
    entry: { clientToken: string; displayName: string; until: number },
  ) {
    const now = performance.now();
    for (const [other, { until }] of this.unconnected) if (until <= now) this.unconnected.delete(other);
    this.unconnected.set(key, entry);
  }

  /** A join or resume under way, before its session exists: `closeAll()` aborts it. */
  private opening(): AbortController {
    const controller = new AbortController();
    this.openings.add(controller);
    return controller;
  }

  /**
   * Releases every session locally (sockets closed, timers cleared) without leaving the chats. A session whose
   * `disconnect()` is under way is left to finish it: it is on its way out, and closing would keep its bot in.
   */
  closeAll(): void {
    const closed = new ConnectBotError(ErrorCode.SessionEnded, 'closeAll() while opening');
    for (const controller of this.openings) controller.abort(closed);
    for (const session of [...this.sessions]) if (!session.isLeaving) session.close();
  }

  private connectParticipant(
    instanceId: string,
    participantToken: string,
    maxRetryTimeMs: number,
    waitSignal?: AbortSignal,
  ): Promise<CreateParticipantConnectionResponse> {
    return this.ctx.caller.call(
      'CreateParticipantConnection',
      instanceId,
      (signal) =>
        this.ctx.aws.participant.send(
          new CreateParticipantConnectionCommand({
            ParticipantToken: participantToken,
            ConnectParticipant: true,
            Type: ['WEBSOCKET', 'CONNECTION_CREDENTIALS'],
          }),
          { abortSignal: signal },
        ),
      { maxRetryTimeMs, ...(waitSignal ? { waitSignal } : {}) },
    );
  }

  /**
   * Starts a session on a new connection. If it fails, the participant leaves the chat: nobody would hold it, and
   * the flow would wait on it. A session closed while starting (closeAll) leaves too when `leaveIfClosed` (a join:
   * nobody else knows the new participant); otherwise it stays, for another host to resume.
   */
  private async open(
    identity: SessionSnapshot,
    connection: CreateParticipantConnectionResponse,
    leaveIfClosed: boolean,
    closing: AbortSignal,
  ): Promise<ChatSession> {
    const session = new ChatSession(this.ctx, identity);
    this.sessions.add(session);
    // closeAll() came while the connection was being made: it starts closed (and a join's bot leaves).
    if (closing.aborted) session.close();
    try {
      await session.start(connection);
    } catch (error) {
      this.sessions.delete(session);
      // The session's own, when it fetched another (the first answer had none); else the first answer's.
      const token = session.heldConnectionToken || connection.ConnectionCredentials?.ConnectionToken;
      if (token && (leaveIfClosed || session.endedBecause !== 'closed')) {
        // Through the caller: paced by the quota and seen by `apiCall`, as every call is; one ClientToken for
        // every retry, as session.disconnect() does.
        const clientToken = crypto.randomUUID();
        await this.ctx.caller
          .call('DisconnectParticipant', identity.instanceId, (signal) =>
            this.ctx.aws.participant.send(
              new DisconnectParticipantCommand({ ConnectionToken: token, ClientToken: clientToken }),
              { abortSignal: signal },
            ),
          )
          .catch(() => {});
      }
      throw error;
    }
    this.announced.add(session);
    // Whatever a listener does, the session is open and the caller's.
    this.guarded('sessionOpened', () => this.emit('sessionOpened', session));
    return session;
  }

  /** Runs an emit to the client's listeners: one that throws is logged and changes nothing. */
  private guarded(listener: string, emit: () => void): void {
    try {
      emit();
    } catch (error) {
      this.ctx.logger.warn({ event: 'listener-failed', listener, err: error }, 'a listener threw');
    }
  }
}
