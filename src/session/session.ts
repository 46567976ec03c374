import { setTimeout as sleep } from 'node:timers/promises';
import { StopContactCommand, UpdateContactAttributesCommand } from '@aws-sdk/client-connect';
import {
  CreateParticipantConnectionCommand,
  type CreateParticipantConnectionResponse,
  DisconnectParticipantCommand,
  GetTranscriptCommand,
  type GetTranscriptRequest,
  type GetTranscriptResponse,
  SendEventCommand,
  SendMessageCommand,
} from '@aws-sdk/client-connectparticipant';
import { EventEmitter } from 'eventemitter3';
import pRetry, { AbortError } from 'p-retry';
import { attributesProblem } from '../connect/attributes.js';
import type { ApiCaller } from '../connect/caller.js';
import type { AwsClients } from '../connect/clients.js';
import {
  ApiRefusedError,
  ConnectBotError,
  describeThrown,
  ErrorCode,
  HandlerError,
  isRetryable,
} from '../errors.js';
import type { Logger } from '../observability/log-types.js';
import type { WireItem } from '../transport/frames.js';
import { alignedDelay, type ScheduledTask, type Scheduler } from '../transport/scheduler.js';
import { ChatSocket, type SocketListener } from '../transport/socket.js';
import {
  type ChatItem,
  ContentType,
  isMessageContentType,
  isTranscriptItem,
  MESSAGE_CONTENT_TYPES,
  type MessageContentType,
} from './items.js';
import { LatestItems, type TranscriptPosition, timeMs } from './latest-items.js';
import { MIN_DEDUPE_WINDOW, RecentIds } from './recent-ids.js';
import type { SessionTimings } from './timings.js';

/**
 * A back-fill re-reads this many transcript items before the cursor (more when several share a millisecond), so
 * that an item the socket delivered out of order and then lost with the socket is still found (see
 * ChatSession.backfillStart; LatestItems keeps them).
 */
export const REORDER_ALLOWANCE = MIN_DEDUPE_WINDOW / 2;

/** At most this many recent items are kept, however many share the earliest millisecond (see LatestItems). */
export const RECENT_LIMIT = 4 * REORDER_ALLOWANCE;

/** The events that carry a chat item. */
type ItemEvent = 'item' | 'message' | 'typing' | 'participantJoined' | 'participantLeft' | 'event';

/**
 * How eventemitter3 (pinned in package.json) keeps a listener: `_events[key]` is one of these, or an array of
 * them when there are several. {@link ChatSession.deliver} reads it to call each listener on its own, as
 * `emit` does, without allocating; test/session/rules.test.ts covers `once`, `context` and removal.
 */
interface RegisteredListener {
  fn: (item: WireItem) => void;
  context: unknown;
  once: boolean;
}
interface EmitterInternals {
  _events: Record<string, RegisteredListener | RegisteredListener[] | undefined>;
}
const eventKey = (event: ItemEvent) => (EventEmitter.prefixed ? `${EventEmitter.prefixed}${event}` : event);
const ITEM_EVENT_KEYS: Record<ItemEvent, string> = {
  item: eventKey('item'),
  message: eventKey('message'),
  typing: eventKey('typing'),
  participantJoined: eventKey('participantJoined'),
  participantLeft: eventKey('participantLeft'),
  event: eventKey('event'),
};

/**
 * `joining → connecting → open ⇄ rotating / reconnecting → ended`. Every failure goes through one recovery
 * path (`reconnecting`); `ended` is final.
 */
export type SessionState = 'joining' | 'connecting' | 'open' | 'rotating' | 'reconnecting' | 'ended';

/**
 * Why a session ended:
 * - `chat-ended`: the chat.ended event arrived;
 * - `disconnected`: we called {@link ChatSession.disconnect} (a handoff or leave);
 * - `removed`: our own participant.left arrived without us leaving (e.g. an agent joined);
 * - `access-denied`: the service answered 403 to a fresh CreateParticipantConnection: the chat is over for us;
 * - `closed`: {@link ChatSession.close} released the session locally without leaving the chat;
 * - `failed`: an unrecoverable error (see the `ended` event's error).
 */
export type EndReason = 'chat-ended' | 'disconnected' | 'removed' | 'access-denied' | 'closed' | 'failed';

/** Typed events of a {@link ChatSession}. */
export interface ChatSessionEvents {
  /** Every new item (after de-duplication), own ones included; see {@link ChatSession.isOwn}. */
  item: [item: ChatItem];
  /** `Type: MESSAGE` items. */
  message: [item: ChatItem];
  /** Events other than typing, joined and left (chat.ended, receipts, transfers...). */
  event: [item: ChatItem];
  typing: [item: ChatItem];
  participantJoined: [item: ChatItem];
  participantLeft: [item: ChatItem];
  state: [state: SessionState, previous: SessionState];
  /** Emitted once; the session does nothing afterwards. */
  ended: [reason: EndReason, error?: ConnectBotError];
  /**
   * Problems the session recovered from or will retry (e.g. a failed token refresh, CB_INVALID_EXPIRY), and
   * item listeners that threw (CB_HANDLER_FAILED; the item still counts as delivered).
   */
  error: [error: ConnectBotError];
  /** Recovery started: `heartbeat-timeout`, `socket-closed` or `rotation-failed`. */
  reconnecting: [reason: string];
  /** A make-before-break socket rotation completed. */
  rotated: [];
  /** The ConnectionToken was refreshed. */
  tokenRefreshed: [];
}

/** What a session needs from its {@link ChatClient}. */
export interface SessionContext {
  readonly aws: AwsClients;
  readonly caller: ApiCaller;
  readonly scheduler: Scheduler;
  readonly timings: SessionTimings;
  readonly dedupeWindow: number;
  readonly logger: Logger;
  sessionEnded(session: ChatSession, reason: EndReason): void;
  /** A session's `error` event, for the client's `sessionError`, without a listener per session. */
  sessionError(session: ChatSession, error: ConnectBotError): void;
  /** Lifecycle notifications for process-wide metrics, without a listener per session. */
  lifecycle(session: ChatSession, event: LifecycleEvent, reason?: string): void;
}

/** Lifecycle steps reported to the client: a reconnect (with its reason), a rotation, a token refresh. */
export type LifecycleEvent = 'reconnect' | 'rotate' | 'refresh';

/** The identity of a chat participant: everything needed to re-attach to it from another process. */
export interface SessionSnapshot extends TranscriptPosition {
  instanceId: string;
  contactId: string;
  initialContactId: string;
  participantId: string;
  /** Secret. Store it as carefully as any credential; never log it. */
  participantToken: string;
  displayName?: string;
}

export interface SendMessageOptions {
  contentType?: MessageContentType;
  /** Idempotency token: a retry with the same token cannot post twice. Default: a fresh UUID per call. */
  clientToken?: string;
  /** Gives the call up (its quota wait, the attempt in flight, its retries); an attempt already sent may stand. */
  signal?: AbortSignal;
}

export type EventKind = 'typing' | 'read' | 'delivered';

const EVENT_CONTENT_TYPE: Record<EventKind, string> = {
  typing: ContentType.typing,
  read: ContentType.read,
  delivered: ContentType.delivered,
};

/**
 * One participant in one live chat, held over a websocket: subscribes, heartbeats, refreshes its
 * ConnectionToken, rotates its socket make-before-break, reconnects and back-fills from the transcript,
 * and delivers every item exactly once, in order.
 *
 * Created by {@link ChatClient.join} or {@link ChatClient.resume}.
 *
 * @example
 * const session = await client.join({ instanceId, contactId, displayName: 'Helper' });
 * session.on('message', (item) => {
 *   if (session.isOwn(item)) return;
 *   session.sendMessage(`You said: ${item.Content}`).catch((error) => console.error(error.code));
 * });
 * session.on('ended', (reason) => console.log('chat over:', reason));
 */
export class ChatSession extends EventEmitter<ChatSessionEvents> implements SocketListener {
  readonly instanceId: string;
  readonly contactId: string;
  readonly initialContactId: string;
  readonly participantId: string;
  readonly displayName: string | undefined;
  private readonly participantToken: string;
  private readonly ctx: SessionContext;
  private readonly log: Logger;

  private currentState: SessionState = 'joining';
  private connectionToken = '';
  private socket: ChatSocket | undefined;
  /** The incoming socket during a rotation; both deliver until the old one closes. */
  private secondary: ChatSocket | undefined;
  /**
   * Sockets opened but not yet subscribed (a recovery's, a rotation's; both at once when a recovery overtakes a
   * rotation): the end closes them too, and a recovery closes a rotation's.
   */
  private subscribing: ChatSocket[] | undefined;
  /** When the session last became open (performance.now()). */
  private openedAt = 0;
  /** Recoveries in a row whose socket had died within a heartbeat interval of opening: sets their backoff. */
  private flaps = 0;
  private url: string | undefined;
  private urlIssuedAt = 0;
  private connectionExpiry = Number.NaN;
  private readonly seen: RecentIds;
  /**
   * Of the transcript items accepted, the {@link REORDER_ALLOWANCE} latest by AbsoluteTime (more when several
   * share the earliest time). The last is the cursor; a back-fill starts from the first: see
   * {@link ChatSession.backfillStart}.
   */
  private readonly latest = new LatestItems(REORDER_ALLOWANCE, RECENT_LIMIT);
  /** Live items that arrive while a back-fill runs; delivered after it so order holds. */
  private buffer: WireItem[] | undefined;
  /**
   * Items a subscribing socket delivered in the same read as its ack, before the session adopted it: the next
   * back-fill, which follows every adoption, takes them into its buffer (a typing event has no other way back).
   */
  private early: WireItem[] | undefined;
  /**
   * Items accepted while `start()` runs wait here until the caller of join/resume had a chance to attach
   * listeners: they are emitted on the next turn of the event loop after the session opens.
   */
  private held: WireItem[] | undefined = [];
  private heartbeatTask: ScheduledTask | undefined;
  private refreshTask: ScheduledTask | undefined;
  private rotationTask: ScheduledTask | undefined;
  private heartbeats = 0;
  // Bound once, like the tasks they run in (Scheduler.scheduleOrMove): nothing is allocated per period.
  private readonly onHeartbeat = () => this.tick();
  private readonly onRefreshDue = () => void this.refreshToken();
  private readonly onRotationDue = () => void this.rotate();
  private refreshFailures = 0;
  /** The token refresh in flight: calls refused together, and the scheduled refresh, share one. */
  private renewing: Promise<void> | undefined;
  /** Rotations started; a recovery counts one too, so that a rotation it overtook knows it is stale. */
  private rotationCount = 0;
  /** Rotations failed in a row while the old socket stayed open; sets the backoff of the next try. */
  private rotationFailures = 0;
  private recovery: AbortController | undefined;
  /** Aborts a disconnect()'s wait for a quota token when the session is closed. */
  private leaveWait: AbortController | undefined;
  /** While start() runs: the end aborts it, its wait between attempts included. */
  private starting: AbortController | undefined;
  /** Aborts the session's own API calls at the end; see {@link ChatSession.internalCall}. */
  private internal: AbortController | undefined;
  private internalCalls = 0;
  private leaving = false;
  private endReason: EndReason | undefined;

  /** Counters for dashboards and tests. */
  readonly stats = {
    reconnects: 0,
    rotations: 0,
    tokenRefreshes: 0,
    duplicatesDropped: 0,
    itemsDelivered: 0,
  };

  /** @internal Use {@link ChatClient.join} or {@link ChatClient.resume}. */
  constructor(ctx: SessionContext, identity: SessionSnapshot) {
    super();
    this.ctx = ctx;
    this.instanceId = identity.instanceId;
    this.contactId = identity.contactId;
    this.initialContactId = identity.initialContactId;
    this.participantId = identity.participantId;
    this.participantToken = identity.participantToken;
    this.displayName = identity.displayName;
    this.seen = new RecentIds(ctx.dedupeWindow);
    // The items of the snapshot's ring, the cursor among them, were delivered by whoever held the participant
    // before: seen, and where back-fills start (backfillStart). The ring is used only with the cursor it was
    // taken with; an edited cursor starts a ring of its own.
    const recent = identity.recent?.some((entry) => entry.id === identity.cursor) ? identity.recent : [];
    for (const entry of recent) {
      if (this.seen.add(entry.id)) this.latest.add(entry.id, entry.time);
    }
    if (identity.cursor) {
      this.seen.add(identity.cursor);
      if (recent.length === 0) this.latest.add(identity.cursor, identity.cursorTime);
    }
    this.log = ctx.logger.child({ contactId: identity.contactId, participantId: identity.participantId });
  }

  get state(): SessionState {
    return this.currentState;
  }

  get ended(): boolean {
    return this.currentState === 'ended';
  }

  /** Why the session ended, once it has. */
  get endedBecause(): EndReason | undefined {
    return this.endReason;
  }

  /** Websockets open now: 1 while held, 2 for a moment during a rotation, 0 while reconnecting or ended. */
  get openSockets(): number {
    return (this.socket?.isOpen ? 1 : 0) + (this.secondary?.isOpen ? 1 : 0);
  }

  /**
   * The Id of the latest transcript item seen (by AbsoluteTime); a back-fill re-reads from a few items before
   * it (backfillStart).
   */
  get lastSeenId(): string | undefined {
    return this.cursor;
  }

  /** The latest transcript item seen (the last of `latest`). */
  private get cursor(): string | undefined {
    return this.latest.id(this.latest.size - 1);
  }

  /** True for items this participant sent. */
  isOwn(item: ChatItem): boolean {
    return item.ParticipantId === this.participantId;
  }

  /** Everything another process needs to {@link ChatClient.resume} this participant. Contains a secret. */
  snapshot(): SessionSnapshot {
    return {
      instanceId: this.instanceId,
      contactId: this.contactId,
      initialContactId: this.initialContactId,
      participantId: this.participantId,
      participantToken: this.participantToken,
      ...(this.displayName ? { displayName: this.displayName } : {}),
      ...this.latest.position(),
    };
  }

  // ---- Actions -----------------------------------------------------------------------------------

  /**
   * Sends a message (text/plain by default; text/markdown and application/json too). Retries throttling and
   * transient failures with the same ClientToken, so a retry never posts twice.
   */
  async sendMessage(
    content: string,
    options: SendMessageOptions = {},
  ): Promise<{ id: string; absoluteTime: string }> {
    const contentType = options.contentType ?? 'text/plain';
    if (!isMessageContentType(contentType)) {
      throw new ConnectBotError(
        ErrorCode.InvalidArgument,
        `unsupported message content type: ${contentType}`,
      );
    }
    const limit = MESSAGE_CONTENT_TYPES[contentType];
    if (typeof content !== 'string' || content.length < 1 || content.length > limit) {
      throw new ConnectBotError(
        ErrorCode.InvalidArgument,
        `${contentType} content must be 1-${limit} characters`,
      );
    }
    const clientToken = givenOrNewToken('sendMessage', options.clientToken);
    const result = await this.withToken(
      'SendMessage',
      (token, signal) =>
        this.ctx.aws.participant.send(
          new SendMessageCommand({
            ConnectionToken: token,
            ContentType: contentType,
            Content: content,
            ClientToken: clientToken,
          }),
          { abortSignal: signal },
        ),
      options.signal,
    );
    return { id: result.Id ?? '', absoluteTime: result.AbsoluteTime ?? '' };
  }

  /** Sends an event: `typing`, or a `read`/`delivered` receipt for `messageId`. */
  async sendEvent(
    kind: EventKind,
    options: { messageId?: string; clientToken?: string; signal?: AbortSignal } = {},
  ): Promise<void> {
    if (!Object.hasOwn(EVENT_CONTENT_TYPE, kind)) {
      throw new ConnectBotError(ErrorCode.InvalidArgument, `unknown event kind: ${kind}`);
    }
    const contentType = EVENT_CONTENT_TYPE[kind];
    if (kind !== 'typing' && !options.messageId) {
      throw new ConnectBotError(ErrorCode.InvalidArgument, `a ${kind} receipt needs a messageId`);
    }
    const content = kind === 'typing' ? undefined : JSON.stringify({ messageId: options.messageId });
    const clientToken = givenOrNewToken('sendEvent', options.clientToken);
    await this.withToken(
      'SendEvent',
      (token, signal) =>
        this.ctx.aws.participant.send(
          new SendEventCommand({
            ConnectionToken: token,
            ContentType: contentType,
            Content: content,
            ClientToken: clientToken,
          }),
          { abortSignal: signal },
        ),
      options.signal,
    );
  }

  /** GetTranscript with this participant's ConnectionToken (one page; follow `NextToken` yourself). */
  getTranscript(input: Omit<GetTranscriptRequest, 'ConnectionToken'> = {}): Promise<GetTranscriptResponse> {
    return this.transcriptPage(input);
  }

  private transcriptPage(
    input: Omit<GetTranscriptRequest, 'ConnectionToken'>,
    signal?: AbortSignal,
  ): Promise<GetTranscriptResponse> {
    return this.withToken(
      'GetTranscript',
      (token, attempt) =>
        this.ctx.aws.participant.send(new GetTranscriptCommand({ ...input, ConnectionToken: token }), {
          abortSignal: attempt,
        }),
      signal,
    );
  }

  /**
   * Merges `attributes` into the contact's attributes (UpdateContactAttributes on the InitialContactId), where
   * the flow reads them after the bot leaves. Works after the chat ended, too.
   */
  async setAttributes(attributes: Record<string, string>): Promise<void> {
    const problem = attributesProblem(attributes);
    if (problem) throw new ConnectBotError(ErrorCode.InvalidArgument, problem);
    await this.ctx.caller.call('UpdateContactAttributes', 'account', (signal) =>
      this.ctx.aws.connect.send(
        new UpdateContactAttributesCommand({
          InstanceId: this.instanceId,
          InitialContactId: this.initialContactId,
          Attributes: attributes,
        }),
        { abortSignal: signal },
      ),
    );
  }

  /** Ends the chat for everyone (StopContact on the Connect API; needs `connect:StopContact`). */
  async stopContact(): Promise<void> {
    await this.ctx.caller.call('StopContact', 'account', (signal) =>
      this.ctx.aws.connect.send(
        new StopContactCommand({ InstanceId: this.instanceId, ContactId: this.contactId }),
        {
          abortSignal: signal,
        },
      ),
    );
  }

  /**
   * Leaves the chat (DisconnectParticipant). The flow's Wait block then continues through "Bot participant
   * disconnected". Ends the session with `disconnected`. Safe to call twice, and once the chat ended. After
   * `close()` it is `CB_SESSION_ENDED`: closing let go of the socket, not of the chat, and the bot is still in it
   * (resume it to leave).
   */
  async disconnect(): Promise<void> {
    if (this.endReason === 'closed') {
      throw new ConnectBotError(
        ErrorCode.SessionEnded,
        'disconnect: the session was closed; the bot is still in the chat (resume it to leave)',
      );
    }
    if (this.ended) return;
    this.leaving = true;
    // One token for every retry: a retry after a lost answer is the same leave, not a second one.
    const clientToken = crypto.randomUUID();
    // A close() while the leave still waits for a quota token cancels it: closing means staying in the chat.
    const wait = new AbortController();
    this.leaveWait = wait;
    try {
      await this.withToken(
        'DisconnectParticipant',
        (token, signal) =>
          this.ctx.aws.participant.send(
            new DisconnectParticipantCommand({ ConnectionToken: token, ClientToken: clientToken }),
            { abortSignal: signal },
          ),
        undefined,
        wait.signal,
      );
      this.end('disconnected');
    } catch (error) {
      // A cast: close() may have run while this waited (TypeScript keeps the narrowing from above).
      if ((this.endReason as EndReason | undefined) === 'closed') {
        throw new ConnectBotError(
          ErrorCode.SessionEnded,
          'disconnect: the session was closed before the bot left',
          {
            cause: error,
          },
        );
      }
      if (this.ended) return;
      this.leaving = false;
      throw error;
    }
  }

  /** @internal The ConnectionToken the session holds (empty before it adopted one), for a leave after a failed start. */
  get heldConnectionToken(): string {
    return this.connectionToken;
  }

  /** True while a `disconnect()` is under way. */
  get isLeaving(): boolean {
    return this.leaving && !this.ended;
  }

  /** Releases the session locally (sockets closed, timers cleared) without leaving the chat. */
  close(): void {
    this.end('closed');
  }

  // ---- Lifecycle (used by ChatClient) ---------------------------------------------------------------

  /**
   * @internal Opens the first socket with credentials from a CreateParticipantConnection, then positions the
   * cursor: at the given one (resume) or just after this participant's own participant.joined (join).
   */
  async start(connection: CreateParticipantConnectionResponse): Promise<void> {
    this.setState('connecting');
    // An answer without the URL or the token is not used: the first attempt asks for a fresh connection.
    if (!missingField(connection, true)) this.adoptConnection(connection);
    const starting = new AbortController();
    this.starting = starting;
    try {
      await pRetry(() => this.connect(), {
        retries: 3,
        minTimeout: this.ctx.timings.reconnectMinDelayMs,
        maxTimeout: this.ctx.timings.reconnectMaxDelayMs,
        randomize: true,
        unref: true,
        signal: starting.signal,
        shouldRetry: ({ error }) => !this.ended && isRetryable(error),
      });
    } catch (error) {
      if (this.ended) {
        // close() (CB_SESSION_ENDED) or the end of the chat (CB_CHAT_ENDED) while opening: every attempt stops
        // with an AbortError.
        throw new ConnectBotError(
          this.endReason === 'closed' ? ErrorCode.SessionEnded : ErrorCode.ChatEnded,
          `the session ended while opening (${this.endReason})`,
          { cause: error },
        );
      }
      const failure =
        error instanceof ConnectBotError ? error : new ConnectBotError(ErrorCode.SocketFailed, String(error));
      if (this.isAccessDenied(failure)) {
        // The chat ended for this participant while it opened (a fresh connection refused with 403).
        this.endDenied(failure);
        throw new ConnectBotError(ErrorCode.ChatEnded, 'the chat ended while the session opened', {
          cause: failure,
        });
      }
      this.end('failed', failure);
      throw failure;
    } finally {
      this.starting = undefined;
    }
    this.opened();
    if (this.ended) {
      // A listener of `opened()`'s own notifications (state, error) ended it: the caller gets no ended session.
      throw new ConnectBotError(
        this.endReason === 'closed' ? ErrorCode.SessionEnded : ErrorCode.ChatEnded,
        `the session ended while opening (${this.endReason})`,
      );
    }
    this.log.info({ event: 'join' }, 'chat session open');
    setImmediate(() => this.release());
  }

  /**
   * Emits the items held back during `start()`, moving the cursor as each is emitted: a listener that hands the
   * chat over (snapshot, close) must not pass on a cursor beyond items it never got.
   */
  private release(): void {
    const held = this.held;
    this.held = undefined;
    for (const item of held ?? []) {
      if (this.ended) return;
      if (isTranscriptItem(item)) this.moveCursor(item);
      this.emitItem(item);
    }
  }

  /** One attempt: a URL (reused while fresh), an open subscribed socket, and a back-fill. */
  private async connect(): Promise<void> {
    if (this.ended) throw new AbortError('session ended');
    const url = await this.freshUrl();
    if (this.ended) throw new AbortError('session ended');
    let socket: ChatSocket;
    try {
      socket = await this.openSubscribed(url);
    } catch (error) {
      this.url = undefined; // maybe expired or refused: never reuse it
      throw error;
    }
    if (this.ended) {
      socket.close();
      throw new AbortError('session ended');
    }
    this.socket = socket;
    try {
      await this.backfill();
      if (this.ended) throw new AbortError('session ended');
      // Closed while the back-fill ran: its close was left to this attempt (onSocketClose), which fails so
      // that the retry opens another socket.
      if (this.socket !== socket || !socket.isOpen) {
        throw new ConnectBotError(ErrorCode.SocketFailed, 'websocket closed during the back-fill');
      }
    } catch (error) {
      if (this.socket === socket) this.socket = undefined;
      socket.terminate();
      throw error;
    }
  }

  private async openSubscribed(url: string): Promise<ChatSocket> {
    const { timings, scheduler } = this.ctx;
    // The end cuts an opening short (internalCall's signal): it would hold a connection for openTimeoutMs.
    const socket = await this.internalCall('websocket', (signal) =>
      ChatSocket.open(url, this, scheduler, timings.openTimeoutMs, signal),
    );
    if (this.ended) {
      socket.close('Session ended');
      throw new AbortError('session ended');
    }
    if (this.subscribing) this.subscribing.push(socket);
    else this.subscribing = [socket];
    try {
      await socket.subscribe({
        ackTimeoutMs: timings.subscribeAckTimeoutMs,
        resends: timings.subscribeResends,
      });
    } catch (error) {
      socket.terminate();
      throw error;
    } finally {
      this.subscribing = this.subscribing?.filter((other) => other !== socket);
      if (this.subscribing?.length === 0) this.subscribing = undefined;
    }
    return socket;
  }

  /** The current websocket URL if it is younger than `urlMaxAgeMs`, else a fresh one. */
  private async freshUrl(): Promise<string> {
    if (this.url && performance.now() - this.urlIssuedAt < this.ctx.timings.urlMaxAgeMs) return this.url;
    return this.newConnection();
  }

  /** A new websocket URL and ConnectionToken, adopted; the URL. */
  private async newConnection(): Promise<string> {
    const connection = await this.createConnection(['WEBSOCKET', 'CONNECTION_CREDENTIALS']);
    const missing = missingField(connection, true);
    // Retried like a failed socket: an older URL or token must not stand in for the ones asked for.
    if (missing)
      throw new ConnectBotError(ErrorCode.BadResponse, `CreateParticipantConnection returned no ${missing}`);
    this.adoptConnection(connection);
    return connection.Websocket!.Url!;
  }

  private createConnection(
    types: Array<'WEBSOCKET' | 'CONNECTION_CREDENTIALS'>,
  ): Promise<CreateParticipantConnectionResponse> {
    return this.internalCall('CreateParticipantConnection', (signal) =>
      this.ctx.caller.call(
        'CreateParticipantConnection',
        this.instanceId,
        (attempt) =>
          this.ctx.aws.participant.send(
            new CreateParticipantConnectionCommand({ ParticipantToken: this.participantToken, Type: types }),
            { abortSignal: attempt },
          ),
        { signal },
      ),
    );
  }

  /**
   * Runs one of the session's own API calls (a token refresh, a rotation's or a recovery's connection, a
   * back-fill page). The end aborts them, retries and quota waits included: their answers would be ignored, and
   * retrying them after the end is load on the service for nothing. The controller exists only while such a
   * call is in flight.
   */
  private async internalCall<T>(operation: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    // A listener may end the session between a step and the call it leads to (a `state` listener on `rotating`).
    this.assertActive(operation);
    this.internal ??= new AbortController();
    const { signal } = this.internal;
    signal.throwIfAborted();
    this.internalCalls++;
    try {
      return await run(signal);
    } finally {
      if (--this.internalCalls === 0 && !signal.aborted) this.internal = undefined;
    }
  }

  /** Takes the URL and ConnectionToken of a CreateParticipantConnection and schedules the token refresh. */
  private adoptConnection(connection: CreateParticipantConnectionResponse): void {
    if (this.ended) return; // an answer that arrived after the end: no URL kept, no refresh scheduled
    if (connection.Websocket?.Url) {
      this.url = connection.Websocket.Url;
      this.urlIssuedAt = performance.now();
      this.connectionExpiry = Date.parse(connection.Websocket.ConnectionExpiry ?? '');
    }
    const credentials = connection.ConnectionCredentials;
    if (credentials?.ConnectionToken) {
      this.connectionToken = credentials.ConnectionToken;
      this.scheduleRefresh(credentials.Expiry);
    }
  }

  private opened(): void {
    this.rotationFailures = 0;
    this.openedAt = performance.now();
    this.setState('open');
    if (this.ended) return; // a `state` listener ended it
    this.scheduleHeartbeat();
    this.scheduleRotation();
  }

  // ---- Inbound items -------------------------------------------------------------------------------

  /** @internal */
  onSocketItem(socket: ChatSocket, item: WireItem): void {
    if (socket !== this.socket && socket !== this.secondary) {
      if (socket.isSubscribed && this.subscribing?.includes(socket)) {
        this.early ??= [];
        this.early.push(item);
      }
      return;
    }
    if (this.buffer) this.buffer.push(item);
    else this.accept(item);
  }

  /** @internal */
  onSocketClose(socket: ChatSocket, code: number): void {
    if (socket === this.secondary) {
      this.secondary = undefined;
      return;
    }
    if (socket !== this.socket) return;
    this.log.info({ event: 'socket-closed', code }, 'socket closed by peer');
    // While connecting or reconnecting, the attempt that opened this socket is still in its back-fill; it
    // sees the closed socket when that ends and fails, and its retry opens another one (connect()).
    if (this.currentState === 'connecting' || this.currentState === 'reconnecting') return;
    this.recover('socket-closed');
  }

  /** @internal */
  onSocketGatewayError(_socket: ChatSocket, message: string): void {
    this.log.warn({ event: 'gateway-error', gatewayMessage: message }, 'gateway error frame');
  }

  /** De-duplicates by Id, advances the cursor, and emits. The single entry point of every item. */
  private accept(item: WireItem): void {
    if (this.ended) return;
    if (
      item.InitialContactId &&
      item.InitialContactId !== this.initialContactId &&
      item.ContactId !== this.contactId
    ) {
      return; // another contact's item (chatjs #136 filters the same way)
    }
    if (!this.seen.add(item.Id)) {
      this.stats.duplicatesDropped++;
      return;
    }
    if (this.held) {
      this.held.push(item); // the cursor moves when it is emitted (release)
      return;
    }
    if (isTranscriptItem(item)) this.moveCursor(item);
    this.emitItem(item);
  }

  private emitItem(item: WireItem): void {
    this.stats.itemsDelivered++;
    this.log.debug(
      { event: 'item', itemId: item.Id, type: item.Type, contentType: item.ContentType },
      'item',
    );
    this.deliver('item', item);
    if (this.ended) return; // an item listener ended the session: nothing more is emitted
    if (item.Type === 'MESSAGE') {
      this.deliver('message', item);
      return;
    }
    switch (item.ContentType) {
      case ContentType.typing:
        this.deliver('typing', item);
        return;
      case ContentType.participantJoined:
        this.deliver('participantJoined', item);
        return;
      case ContentType.participantLeft:
        this.deliver('participantLeft', item);
        if (item.ParticipantId === this.participantId) this.end(this.leaving ? 'disconnected' : 'removed');
        return;
      default:
        this.deliver('event', item);
        if (item.ContentType === ContentType.chatEnded) this.end('chat-ended');
    }
  }

  /**
   * Emits an item event, each listener on its own: one that throws is reported as an `error` event
   * (CB_HANDLER_FAILED) and stops nothing else: not the listeners after it, the item's other events, the items
   * after it, the session's own reaction to the item (ending on chat.ended), or the socket. EventEmitter's own
   * `emit` would skip the listeners after the one that threw.
   */
  private deliver(event: ItemEvent, item: WireItem): void {
    const registered = (this as unknown as EmitterInternals)._events[ITEM_EVENT_KEYS[event]];
    if (registered === undefined) return;
    if (!Array.isArray(registered)) {
      this.callListener(event, registered, item);
      return;
    }
    // As in emit: a listener added meanwhile is pushed onto this array and waits for the next item (hence the
    // length read once); a removal replaces the array, so this one keeps its listeners for this item.
    const count = registered.length;
    for (let i = 0; i < count && !this.ended; i++) this.callListener(event, registered[i]!, item);
  }

  private callListener(event: ItemEvent, listener: RegisteredListener, item: WireItem): void {
    if (listener.once) this.removeListener(event, listener.fn, undefined, true);
    try {
      const result: unknown = listener.fn.call(listener.context, item);
      // An async listener's failure comes later: reported the same way, never an unhandled rejection (which
      // would stop the process, and every chat in it).
      if (result != null && typeof (result as PromiseLike<unknown>).then === 'function') {
        (result as PromiseLike<unknown>).then(undefined, (error: unknown) =>
          this.listenerFailed(event, item, 'rejected', error),
        );
      }
    } catch (error) {
      this.listenerFailed(event, item, 'threw', error);
    }
  }

  private listenerFailed(event: ItemEvent, item: WireItem, how: 'threw' | 'rejected', error: unknown): void {
    this.log.warn(
      { event: 'listener-failed', listener: event, itemId: item.Id, err: error },
      `a listener ${how}`,
    );
    // A rejection that comes after the end is only logged: nothing is emitted once the session has ended.
    if (this.ended) return;
    this.reportError(
      new HandlerError(ErrorCode.HandlerFailed, `a '${event}' listener ${how}: ${describeThrown(error)}`, {
        cause: error,
      }),
    );
  }

  /**
   * Delivers what the socket may have missed: GetTranscript FORWARD/ASCENDING from the cursor, following
   * NextToken. Without a cursor (first join) it positions the cursor just after our own participant.joined.
   * Live items arriving meanwhile wait in a buffer, then go through the same de-duplication.
   */
  private async backfill(): Promise<void> {
    // Its own buffer: a back-fill overtaken by a recovery (or the end) must neither deliver the next one's
    // live items nor take its buffer away.
    const buffer: WireItem[] = this.early ?? [];
    this.early = undefined;
    this.buffer = buffer;
    try {
      const start = this.backfillStart();
      if (start) await this.forwardFrom(start, buffer);
      else await this.positionCursor(buffer);
      if (this.buffer !== buffer) return;
      this.buffer = undefined;
      for (const item of buffer) this.accept(item);
    } finally {
      if (this.buffer === buffer) this.buffer = undefined;
    }
  }

  /**
   * Accepts an item of a transcript page. Typing events and receipts are not in the transcript: those the back-fill
   * held live before the item's own live copy came in before it, so they are delivered first, not after the whole
   * back-fill.
   */
  private acceptPageItem(item: WireItem, buffer: WireItem[]): void {
    const at = buffer.findIndex((held) => held.Id === item.Id);
    const events = at > 0 ? buffer.slice(0, at).filter((held) => !isTranscriptItem(held)) : [];
    for (const event of events) buffer.splice(buffer.indexOf(event), 1);
    for (const event of events) this.accept(event);
    this.accept(item);
  }

  private async forwardFrom(start: string, buffer: WireItem[]): Promise<void> {
    // Up to the cursor, the pages repeat items already seen (see backfillStart): skipped without counting them
    // as duplicates. An unseen one among them is an item the socket delivered out of order, then lost.
    const cursor = this.cursor;
    let overlap = start !== cursor;
    let nextToken: string | undefined;
    let tokens: Set<string> | undefined; // NextTokens seen: one that comes back would page forever
    do {
      let page: GetTranscriptResponse;
      try {
        const input: Omit<GetTranscriptRequest, 'ConnectionToken'> = {
          ScanDirection: 'FORWARD',
          SortOrder: 'ASCENDING',
          StartPosition: { Id: start },
          MaxResults: 100,
          ...(nextToken ? { NextToken: nextToken } : {}),
        };
        page = await this.internalCall('GetTranscript', (signal) => this.transcriptPage(input, signal));
      } catch (error) {
        // 400: the service does not know the start item (a stale snapshot, or an item it pushed but keeps no
        // record of). Ending the session over it would be worse than the fallback.
        if (this.buffer !== buffer) return; // overtaken by a recovery or the end meanwhile
        if (nextToken || !(error instanceof ApiRefusedError) || error.status !== 400) throw error;
        await this.recentAfterCursorTime(start, buffer);
        return;
      }
      if (this.buffer !== buffer) return; // overtaken by a recovery or the end
      for (const item of (page.Transcript ?? []) as WireItem[]) {
        // StartPosition's own item may come back; it was delivered before, even if it left the dedupe window.
        if (item.Id === start) continue;
        if (overlap && item.Id === cursor) overlap = false;
        // Items of the ring come back before the cursor, and after it too when the socket delivered them out of
        // order. Receipts and typing share the dedupe window and may have pushed them out of it: the ring decides.
        if (this.latest.has(item.Id)) continue;
        if (overlap && this.seen.has(item.Id)) continue;
        this.acceptPageItem(item, buffer);
      }
      // An item listener ended the session, or a recovery took the back-fill over: nothing more to report.
      if (this.ended || this.buffer !== buffer) return;
      nextToken = page.NextToken;
      if (nextToken) {
        tokens ??= new Set();
        if (tokens.has(nextToken)) {
          this.log.warn(
            { event: 'transcript-loop', pages: tokens.size },
            'GetTranscript repeated a NextToken',
          );
          this.reportError(
            new ConnectBotError(
              ErrorCode.TranscriptLoop,
              `GetTranscript returned a NextToken again after ${tokens.size} pages; the back-fill stopped there`,
            ),
          );
          return;
        }
        tokens.add(nextToken);
      }
    } while (nextToken);
  }

  /**
   * Back-fill without a usable cursor: the newest transcript page (at most 100 items), of which only the items
   * after the cursor's AbsoluteTime are delivered; without a cursor time none are (they are marked seen).
   * Items older than that page, and items in the cursor's own millisecond, are not back-filled: delivering one
   * twice is the worse mistake. Reported as CB_CURSOR_UNKNOWN.
   */
  private async recentAfterCursorTime(unknown: string, buffer: WireItem[]): Promise<void> {
    const last = this.latest.size - 1;
    const since = this.latest.timeMs(last);
    const cursorTime = this.latest.time(last);
    const cursor = this.cursor;
    const items = await this.newestItems();
    if (this.buffer !== buffer) return;
    // The ring may still hold the unknown item: restart it from this page, which the service knows.
    this.latest.clear();
    this.log.warn(
      { event: 'cursor-unknown', itemId: unknown },
      'GetTranscript does not know the cursor item',
    );
    this.reportError(
      new ConnectBotError(
        ErrorCode.CursorUnknown,
        cursorTime
          ? `the service does not know item ${unknown}; back-filled the newest items after ${cursorTime}`
          : `the service does not know item ${unknown}, and the last seen item's time is unknown; nothing was back-filled`,
      ),
    );
    const newer = cursorTime ? items.findIndex((item) => timeMs(item.AbsoluteTime) > since) : -1;
    this.settle(items, newer < 0 ? items.length : newer, buffer);
    // An empty page: keep the old cursor, so that the next back-fill does not take the chat for a new one.
    if (items.length === 0 && cursor) this.latest.add(cursor, cursorTime);
  }

  /** Records an accepted transcript item in `latest`: the cursor moves when none seen is later. */
  private moveCursor(item: WireItem): void {
    this.latest.add(item.Id, item.AbsoluteTime);
  }

  /**
   * Where a back-fill starts: of the {@link REORDER_ALLOWANCE} latest transcript items accepted (by
   * AbsoluteTime), the earliest, not the cursor itself. The socket may deliver items out of transcript order (protocol.md
   * §6, pitfall 4): had it delivered A, then C, and dropped before B, a back-fill from C would never return B.
   * Starting a few items earlier returns B; the items in between were seen and are skipped. A resumed session
   * starts with its snapshot's ring (or its cursor); without either, the cursor.
   */
  private backfillStart(): string | undefined {
    // The entry earliest in the transcript, not the oldest accepted: an item that overtook others on the socket
    // sits later in the transcript than they do. Every accepted item later than it is in `latest`, so the pages
    // after it hold nothing seen that `latest` does not know.
    return this.latest.id(0);
  }

  /** First join: items up to our own participant.joined are history, marked seen but not delivered. */
  private async positionCursor(buffer: WireItem[]): Promise<void> {
    const items = await this.newestItems();
    if (this.buffer !== buffer) return; // overtaken by a recovery or the end
    let joinedAt = -1;
    items.forEach((item, index) => {
      if (item.ParticipantId === this.participantId && item.ContentType === ContentType.participantJoined)
        joinedAt = index;
    });
    this.settle(items, joinedAt >= 0 ? joinedAt + 1 : items.length, buffer);
  }

  /** The newest transcript page (at most 100 items), oldest first. */
  private async newestItems(): Promise<WireItem[]> {
    const input = { ScanDirection: 'BACKWARD', SortOrder: 'ASCENDING', MaxResults: 100 } as const;
    const page = await this.internalCall('GetTranscript', (signal) => this.transcriptPage(input, signal));
    return (page.Transcript ?? []) as WireItem[];
  }

  /**
   * The first `history` items are what the participant saw before, or what predates it: marked seen and the
   * cursor moved past them, not delivered. The rest go through {@link ChatSession.accept}.
   */
  private settle(items: WireItem[], history: number, buffer: WireItem[]): void {
    items.forEach((item, index) => {
      if (index >= history) {
        this.acceptPageItem(item, buffer);
        return;
      }
      this.seen.add(item.Id);
      this.moveCursor(item);
    });
  }

  /** Emits `error` and tells the client (its `sessionError` event). */
  private reportError(error: ConnectBotError): void {
    this.guarded('error', () => this.emit('error', error));
    this.guarded('sessionError', () => this.ctx.sessionError(this, error));
  }

  /**
   * Runs the listeners of one of the session's own notifications (state, error, ended...). One that throws is
   * logged and goes no further: it must not stop a recovery, a rotation or the end half-way.
   */
  private guarded(listener: string, notify: () => void): void {
    try {
      notify();
    } catch (error) {
      this.log.warn({ event: 'listener-failed', listener, err: error }, 'a listener threw');
    }
  }

  // ---- Timers ---------------------------------------------------------------------------------------

  private scheduleHeartbeat(): void {
    const { scheduler, timings } = this.ctx;
    // Every session's heartbeats fall due on one grid (1/40 of the interval: 250 ms at 10 s), so a wake-up sends
    // many and their replies arrive together: far fewer wake-ups than one per chat (bench/held-chats.ts).
    const interval = timings.heartbeatIntervalMs;
    const delay = alignedDelay(interval, interval / 40, scheduler.now());
    this.heartbeatTask = scheduler.scheduleOrMove(this.heartbeatTask, delay, this.onHeartbeat);
  }

  /** Heartbeat tick: a heartbeat still unanswered since the last tick means a zombie socket. */
  private tick(): void {
    const socket = this.socket;
    if (this.ended || !socket) return;
    if (this.currentState !== 'open' && this.currentState !== 'rotating') return;
    const { timings, scheduler } = this.ctx;
    const ping = this.heartbeats++ % timings.pingEveryHeartbeats === 0;
    if (!socket.heartbeat(ping)) {
      this.log.warn({ event: 'zombie' }, 'heartbeat unanswered; replacing socket');
      this.recover('heartbeat-timeout');
      return;
    }
    // A URL too old to reuse is only memory (a long credential string per chat) until the next connection.
    if (this.url && scheduler.now() - this.urlIssuedAt >= timings.urlMaxAgeMs) this.url = undefined;
    this.scheduleHeartbeat();
  }

  /**
   * Refresh at Expiry − margin, never sooner than the floor. A missing, unparsable or past Expiry is reported
   * as CB_INVALID_EXPIRY and retried much later: never a tight loop (chatjs-probe §4.1 quirk 5).
   */
  private scheduleRefresh(expiry: string | undefined): void {
    const { timings } = this.ctx;
    const expiresAt = Date.parse(expiry ?? '');
    if (!Number.isFinite(expiresAt) || expiresAt <= Date.now()) {
      this.reportError(
        new ConnectBotError(
          ErrorCode.InvalidExpiry,
          `ConnectionCredentials.Expiry is missing, unparsable or past: ${expiry}`,
        ),
      );
      if (!this.ended) this.refreshIn(timings.invalidExpiryRetryMs); // an `error` listener may have ended it
      return;
    }
    this.refreshIn(
      Math.max(timings.tokenRefreshFloorMs, expiresAt - timings.tokenRefreshMarginMs - Date.now()),
    );
  }

  private refreshIn(delayMs: number): void {
    if (this.ended) return;
    this.refreshTask = this.ctx.scheduler.scheduleOrMove(this.refreshTask, delayMs, this.onRefreshDue);
  }

  private async refreshToken(): Promise<void> {
    if (this.ended) return;
    try {
      await this.renewToken('scheduled');
    } catch (error) {
      if (this.ended || !this.setback(error, 'refresh-failed', 'token refresh failed; will retry')) return;
      // Back off while refreshes keep failing; a call that meets an expired token refreshes on its own.
      const { tokenRefreshFloorMs, invalidExpiryRetryMs } = this.ctx.timings;
      this.refreshIn(Math.min(invalidExpiryRetryMs, tokenRefreshFloorMs * 2 ** this.refreshFailures++));
      return;
    }
    this.refreshFailures = 0;
  }

  /** {@link newToken}, or the one already in flight. */
  private renewToken(why: 'scheduled' | 'refused'): Promise<void> {
    this.renewing ??= this.newToken(why).finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  /**
   * A fresh ConnectionToken (CreateParticipantConnection for credentials only), adopted, counted and announced:
   * the scheduled refresh, or a call's answer to a 403 (`why`).
   */
  private async newToken(why: 'scheduled' | 'refused'): Promise<void> {
    const connection = await this.createConnection(['CONNECTION_CREDENTIALS']);
    if (this.ended) return;
    const missing = missingField(connection, false);
    if (missing) {
      throw new ConnectBotError(ErrorCode.BadResponse, `CreateParticipantConnection returned no ${missing}`);
    }
    this.adoptConnection(connection);
    this.stats.tokenRefreshes++;
    this.log.info({ event: 'refresh', why }, 'connection token refreshed');
    this.guarded('tokenRefreshed', () => this.emit('tokenRefreshed'));
    if (!this.ended) this.guarded('lifecycle', () => this.ctx.lifecycle(this, 'refresh'));
  }

  /**
   * Rotate before Websocket.ConnectionExpiry (minus a margin), and at most `maxSocketAgeMs` after opening.
   * A missing or past ConnectionExpiry is reported (CB_INVALID_EXPIRY) and `maxSocketAgeMs` applies.
   */
  private scheduleRotation(): void {
    const { timings, scheduler } = this.ctx;
    const untilExpiry = this.connectionExpiry - Date.now();
    let delay = timings.maxSocketAgeMs;
    if (Number.isFinite(untilExpiry) && untilExpiry > 0) {
      delay = Math.max(timings.rotationFloorMs, Math.min(untilExpiry - timings.rotationMarginMs, delay));
    } else {
      this.reportError(
        new ConnectBotError(
          ErrorCode.InvalidExpiry,
          'Websocket.ConnectionExpiry is missing, unparsable or past',
        ),
      );
      if (this.ended) return; // an `error` listener ended it
    }
    this.rotationTask = scheduler.scheduleOrMove(this.rotationTask, delay, this.onRotationDue);
  }

  /**
   * Make-before-break: a new socket is opened and subscribed while the old one still delivers (duplicates are
   * dropped by Id), then the old one is closed and a back-fill covers the switch. If the new socket fails before
   * the back-fill, the old one is kept while it is open and the rotation is tried again with backoff; a failed
   * back-fill or a closed old socket means a recovery (`rotation-failed`).
   */
  private async rotate(): Promise<void> {
    if (this.currentState !== 'open') {
      if (!this.ended) this.scheduleRotation();
      return;
    }
    this.setState('rotating');
    // This rotation, and not a later one that started after a recovery overtook it, may go on.
    const rotation = ++this.rotationCount;
    const current = () => this.currentState === 'rotating' && this.rotationCount === rotation;
    let backfilling = false;
    try {
      const url = await this.newConnection(); // fresh credentials are good to have, whoever goes on
      if (!current()) return;
      const incoming = await this.openSubscribed(url);
      if (!current()) {
        incoming.close();
        return;
      }
      this.secondary = incoming;
      backfilling = true;
      await this.backfill();
      backfilling = false;
      if (!current()) {
        incoming.close();
        return;
      }
      if (this.secondary !== incoming || !incoming.isOpen) {
        throw new ConnectBotError(ErrorCode.SocketFailed, 'the new websocket closed during the rotation');
      }
      const outgoing = this.socket;
      this.socket = incoming;
      this.secondary = undefined;
      outgoing?.close('Rotated');
      this.stats.rotations++;
      this.rotationFailures = 0;
      this.log.info({ event: 'rotate' }, 'socket rotated');
      this.guarded('rotated', () => this.emit('rotated'));
      if (this.ended) return; // a `rotated` listener ended it
      this.guarded('lifecycle', () => this.ctx.lifecycle(this, 'rotate'));
      this.setState('open');
      if (this.ended) return;
      this.scheduleHeartbeat();
      this.scheduleRotation();
    } catch (error) {
      if (!current()) return;
      if (!this.setback(error, 'rotate-failed', 'rotation failed')) return;
      this.secondary?.terminate();
      this.secondary = undefined;
      this.url = undefined; // it may be what failed
      // A back-fill that failed took with it the live items it held back (see backfill()): only a recovery's
      // back-fill from the cursor brings them back. So does a closed old socket.
      if (backfilling || !this.socket?.isOpen) {
        this.recover('rotation-failed');
        return;
      }
      // The old socket still delivers (and is still watched for zombies): keep it and try the rotation again
      // with backoff. Should it close first, at its ConnectionExpiry or before, the usual recovery takes over.
      this.setState('open');
      if (this.ended) return;
      this.rotationTask = this.ctx.scheduler.scheduleOrMove(
        this.rotationTask,
        this.backoff(this.rotationFailures++),
        this.onRotationDue,
      );
    }
  }

  // ---- Recovery -------------------------------------------------------------------------------------

  /**
   * The delay before retry `attempt` (from 0): exponential from `reconnectMinDelayMs`, capped at
   * `reconnectMaxDelayMs`, then jittered down by up to half, so retries at the cap are spread too.
   */
  private backoff(attempt: number): number {
    const { reconnectMinDelayMs, reconnectMaxDelayMs } = this.ctx.timings;
    return Math.min(reconnectMaxDelayMs, reconnectMinDelayMs * 2 ** attempt) * (0.5 + Math.random() / 2);
  }

  /**
   * The one recovery path: drop the sockets, then (with jittered exponential backoff) reuse or fetch a URL,
   * open, subscribe, back-fill. A 403 from CreateParticipantConnection ends the session.
   */
  private recover(reason: string): void {
    if (this.ended || this.currentState === 'reconnecting') return;
    this.stats.reconnects++;
    this.log.info({ event: 'reconnect', reason }, 'reconnecting');
    this.guarded('reconnecting', () => this.emit('reconnecting', reason));
    if (this.ended) return; // a `reconnecting` listener ended it
    this.guarded('lifecycle', () => this.ctx.lifecycle(this, 'reconnect', reason));
    if (this.ended) return;
    this.setState('reconnecting');
    if (this.ended) return;
    this.ctx.scheduler.cancel(this.heartbeatTask);
    this.ctx.scheduler.cancel(this.rotationTask);
    this.rotationCount++; // a rotation under way is stale from now on
    // A rotation's socket still subscribing is stale too.
    for (const socket of [this.socket, this.secondary, ...(this.subscribing ?? [])]) socket?.terminate();
    this.socket = this.secondary = this.subscribing = undefined;
    this.heartbeats = 0;
    const controller = new AbortController();
    this.recovery = controller;
    const { timings } = this.ctx;
    // A socket that died soon after opening (a gateway that drops every connection, say) is no reason to
    // reconnect at once: each recovery's retries start afresh, so without this the backoff would never grow.
    this.flaps = performance.now() - this.openedAt < timings.heartbeatIntervalMs ? this.flaps + 1 : 0;
    // One short-lived socket is bad luck: the recovery starts at once. From the second in a row, it waits.
    // The waits are the session's own, jittered within the cap: p-retry jitters before it caps, so after an
    // outage every chat of a host would retry on the same 30 s beat.
    const attempt = async (attemptNumber: number) => {
      // After flapping sockets, the retries go on from where the flap backoff was.
      const flapped = Math.max(0, this.flaps - 2);
      const wait =
        attemptNumber > 1
          ? this.backoff(attemptNumber - 1 + flapped)
          : this.flaps > 1
            ? this.backoff(flapped)
            : 0;
      if (wait > 0) await sleep(wait, undefined, { signal: controller.signal, ref: false });
      return this.connect();
    };
    pRetry(attempt, {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: 0,
      maxTimeout: 0,
      unref: true,
      signal: controller.signal,
      shouldRetry: ({ error }) => !this.ended && isRetryable(error),
      onFailedAttempt: ({ error, attemptNumber }) => {
        this.log.warn(
          { event: 'reconnect-failed', attempt: attemptNumber, err: error },
          'reconnect attempt failed',
        );
      },
    }).then(
      () => {
        if (this.recovery === controller) this.recovery = undefined;
        if (this.ended) return;
        this.opened();
      },
      (error: unknown) => {
        if (this.recovery === controller) this.recovery = undefined;
        if (this.ended) return;
        const failure =
          error instanceof ConnectBotError
            ? error
            : new ConnectBotError(ErrorCode.SocketFailed, String(error));
        if (this.isAccessDenied(failure)) this.endDenied(failure);
        else this.end('failed', failure);
      },
    );
  }

  /**
   * Runs a ConnectionToken call. A 403 may only mean the token expired early, so one fresh
   * CreateParticipantConnection decides: a new token retries the call, a 403 there ends the session. Calls
   * refused with the same token share one refresh; a call whose token was replaced meanwhile just retries.
   */
  private async withToken<T>(
    operation: string,
    send: (token: string, signal?: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
    waitSignal?: AbortSignal,
  ): Promise<T> {
    this.assertActive(operation);
    let used = '';
    const run = () =>
      this.ctx.caller.call(
        operation,
        this.instanceId,
        (attempt) => {
          used = this.connectionToken;
          return send(used, attempt);
        },
        { ...(signal ? { signal } : {}), ...(waitSignal ? { waitSignal } : {}) },
      );
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof ApiRefusedError) || error.status !== 403) throw error;
      if (this.ended) {
        // Refused because the chat ended while the call was on its way: say so with the session's codes.
        throw new ConnectBotError(
          this.endReason === 'closed' ? ErrorCode.SessionEnded : ErrorCode.ChatEnded,
          `${operation}: the session has ended (${this.endReason})`,
          { cause: error },
        );
      }
      try {
        if (used === this.connectionToken) await this.renewToken('refused');
      } catch (refresh) {
        if (this.isAccessDenied(refresh as ConnectBotError)) {
          if (!this.ended) this.endDenied(refresh as ConnectBotError);
          throw new ConnectBotError(
            ErrorCode.ChatEnded,
            `${operation}: the chat has ended for this participant`,
            { cause: error },
          );
        }
        throw refresh;
      }
      return run();
    }
  }

  /**
   * A recoverable step failed. A 403 means the chat is over for us: the session ends and this returns false.
   * Anything else is logged and reported as an `error` event, and the caller carries on with its fallback.
   */
  private setback(error: unknown, event: string, message: string): boolean {
    const failure = error as ConnectBotError;
    if (this.isAccessDenied(failure)) {
      this.endDenied(failure);
      return false;
    }
    this.log.warn({ event, err: failure }, message);
    this.reportError(failure);
    return true;
  }

  private assertActive(operation: string): void {
    if (this.ended) {
      throw new ConnectBotError(
        ErrorCode.SessionEnded,
        `${operation}: the session has ended (${this.endReason})`,
      );
    }
  }

  /**
   * Ends on a 403 to a fresh CreateParticipantConnection. While leaving, it is most likely our own leave whose
   * answer was lost (or has not come yet): we are out, as asked.
   */
  private endDenied(failure: ConnectBotError): void {
    if (this.leaving) {
      this.end('disconnected');
      return;
    }
    // The live items a back-fill held back came before the chat closed to us, and the transcript that would
    // have come first can no longer be read: deliver them rather than drop them (a chat.ended among them ends
    // the session as `chat-ended`).
    const held = this.buffer;
    this.buffer = undefined;
    for (const item of held ?? []) this.accept(item);
    this.end('access-denied', failure);
  }

  private isAccessDenied(error: ConnectBotError): boolean {
    return error instanceof ApiRefusedError && error.status === 403;
  }

  private setState(state: SessionState): void {
    const previous = this.currentState;
    if (previous === state || previous === 'ended') return; // nothing brings an ended session back
    this.currentState = state;
    this.guarded('state', () => this.emit('state', state, previous));
  }

  /** Ends the session: timers cancelled, sockets closed, no reconnect ever after. */
  private end(reason: EndReason, error?: ConnectBotError): void {
    if (this.ended) return;
    this.endReason = reason;
    const { scheduler } = this.ctx;
    scheduler.cancel(this.heartbeatTask);
    scheduler.cancel(this.refreshTask);
    scheduler.cancel(this.rotationTask);
    this.heartbeatTask = this.refreshTask = this.rotationTask = undefined;
    this.recovery?.abort();
    this.recovery = undefined;
    this.internal?.abort(new ConnectBotError(ErrorCode.SessionEnded, `the session ended (${reason})`));
    this.leaveWait?.abort(new ConnectBotError(ErrorCode.SessionEnded, `the session ended (${reason})`));
    this.starting?.abort();
    this.buffer = this.early = undefined;
    for (const socket of [this.socket, this.secondary, ...(this.subscribing ?? [])])
      socket?.close('Session ended');
    this.socket = this.secondary = this.subscribing = undefined;
    this.setState('ended');
    this.log.info({ event: 'end', reason, ...(error ? { err: error } : {}) }, 'chat session ended');
    this.guarded('sessionEnded', () => this.ctx.sessionEnded(this, reason));
    this.guarded('ended', () => this.emit('ended', reason, error));
  }
}

/**
 * The field a CreateParticipantConnection answer lacks, if any: the ConnectionToken, and with `withUrl` the
 * websocket URL (a service that answers 200 without what was asked for).
 */
function missingField(connection: CreateParticipantConnectionResponse, withUrl: boolean): string | undefined {
  if (withUrl && !connection.Websocket?.Url) return 'websocket URL';
  if (!connection.ConnectionCredentials?.ConnectionToken) return 'ConnectionToken';
  return undefined;
}

/** The caller's ClientToken (checked: 1–500 characters), or a new one. */
function givenOrNewToken(action: string, given: string | undefined): string {
  if (given === undefined) return crypto.randomUUID();
  checkText(action, 'clientToken', given, 500);
  return given;
}

/** A `CB_INVALID_ARGUMENT` unless `value` is a string of 1 to `max` characters. */
export function checkText(action: string, field: string, value: unknown, max: number): void {
  if (typeof value !== 'string' || value.length < 1 || value.length > max) {
    throw new ConnectBotError(ErrorCode.InvalidArgument, `${action}: ${field} must be 1-${max} characters`);
  }
}
