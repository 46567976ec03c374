import { EventEmitter } from 'eventemitter3';
import { ConnectBotError, describeThrown, ErrorCode, HandlerError } from '../errors.js';
import { type Logger, silentLogger } from '../observability/log-types.js';
import type { ChatClient } from '../session/client.js';
import type { ChatItem } from '../session/items.js';
import type { ChatSession, EndReason, SessionSnapshot } from '../session/session.js';
import type { HeldChat, HostedChatOptions, KeptChat } from './chat.js';

export type { KeptChat } from './chat.js';

import type { PreparedBot } from './registry.js';
import { Semaphore } from './semaphore.js';

/** A request to put a bot into a chat: what the join endpoint and the CLI hand to {@link BotHost.join}. */
export interface JoinRequest {
  instanceId: string;
  contactId: string;
  /** Default: contactId. */
  initialContactId?: string;
  /** Which bot; default: `attributes.bot`, then the host's default bot. */
  bot?: string;
  /** Contact attributes and flow parameters; bots read them as `ctx.contact.attributes`. */
  attributes?: Record<string, string>;
}

export interface JoinResult {
  participantId: string;
  contactId: string;
  bot: string;
  /** True when the contact already had a live bot from this host (joins are idempotent per contact). */
  reused: boolean;
}

/** What happens to live chats at shutdown. */
export type ShutdownMode = 'handoff' | 'leave' | 'keep';

export interface BotHostOptions {
  client: ChatClient;
  bots: PreparedBot[];
  /** Bot for joins that name none; `null`: none (joins name their bot). Default: the only bot, if there is one. */
  defaultBot?: string | null;
  /** A handler still running after this is abandoned and reported as CB_HANDLER_TIMEOUT. Default 30 000. */
  handlerTimeoutMs?: number;
  /** Updates waiting per chat before new ones are dropped with CB_QUEUE_FULL. Default 100. */
  maxQueueDepth?: number;
  /** Handlers running at once across all chats. Default 500. */
  concurrency?: number;
  /** Chats held at once; beyond it joins are refused (CB_NOT_ACCEPTING) and readiness fails. Default 5 000. */
  maxChats?: number;
  /** A join must complete within this, or it fails with CB_JOIN_TIMEOUT (the flow's Lambda has 8 s). Default 6 000. */
  joinTimeoutMs?: number;
  /** What stop() does with live chats. Default `handoff`. */
  onShutdown?: ShutdownMode;
  /** How long stop() waits for running handlers to finish. Default 10 000. */
  drainTimeoutMs?: number;
  /**
   * How long the whole stop() may take: the drain, releasing the chats (paced by Connect's quotas: a handoff of
   * 100 chats takes about 35 s at DisconnectParticipant's 3/s) and the joins under way. Chats not released by then
   * are let go as `keep` would (in `StopResult.kept`, `overdue`). Default 25 000, inside a 30 s grace period.
   */
  shutdownTimeoutMs?: number;
  /** Attributes set on each chat handed off at shutdown. Default `{ botShutdown: 'true' }`. */
  handoffAttributes?: Record<string, string>;
  logger?: Logger;
}

/** Typed events of a {@link BotHost}, for metrics and dashboards. */
export interface BotHostEvents {
  joined: [chat: HeldChat, durationMs: number];
  joinFailed: [request: JoinRequest, error: ConnectBotError, durationMs: number];
  /** A chat taken over with {@link BotHost.resume}. */
  resumed: [chat: HeldChat, durationMs: number];
  resumeFailed: [request: JoinRequest, error: ConnectBotError, durationMs: number];
  chatEnded: [chat: HeldChat, reason: EndReason];
  handled: [chat: HeldChat, kind: string, durationMs: number, timedOut: boolean];
  /** A bot reply sent (`ok`) or given up on (its error code), once per reply whatever the retries. */
  replied: [chat: HeldChat, result: string];
  received: [chat: HeldChat, item: ChatItem];
  handlerError: [chat: HeldChat, error: ConnectBotError];
  draining: [];
  stopped: [];
}

export interface StopResult {
  mode: ShutdownMode;
  /** Chats still live when the drain ended, and what was done to them. */
  chats: number;
  /** Chats whose handlers were still running when the drain timeout hit. */
  unfinished: number;
  /**
   * What another host needs to {@link BotHost.resume} the chats: all of them with `keep`, else those `overdue`.
   * Contains secrets.
   */
  kept: KeptChat[];
  /** Chats not released within `shutdownTimeoutMs`: let go without leaving (their bot stays in the chat). */
  overdue: number;
}

/** How a chat comes to the host: a join puts the bot in; a resume takes over a participant kept elsewhere. */
type Admission = 'join' | 'resume';

/** A ChatClient join under way for a contact, and whether a join request still waits on it. */
interface JoinAttempt {
  bot: PreparedBot;
  joining: Promise<ChatSession>;
  /** Aborted when a request gives up on it, or at shutdown: it then stops waiting for a quota token. */
  controller: AbortController;
  /** A join request waits on it; if not (it was answered CB_JOIN_TIMEOUT), its bot leaves once it connects. */
  claimed: boolean;
  /** Its bot connected with no request to take it, and is leaving. */
  leaving: boolean;
  /** Settles once the attempt is over: its session taken, its join failed, or its bot gone. */
  settled: Promise<void>;
}

/**
 * Holds many chats, each with its bot: joins them (idempotently per contact), runs each chat's updates in
 * order under a global concurrency cap with handler timeouts and queue caps, and shuts down without
 * dropping a customer.
 *
 * @example
 * const host = new BotHost({ client, bots: await loadBots('bots'), defaultBot: 'faq' });
 * await host.join({ instanceId, contactId });
 * process.once('SIGTERM', () => void host.stop());
 */
type HostEvent = EventEmitter.EventNames<BotHostEvents>;
// biome-ignore lint/suspicious/noExplicitAny: any listener, as eventemitter3 stores them
type Listener = (...args: any[]) => unknown;

export class BotHost extends EventEmitter<BotHostEvents> {
  /** Live chats by contactId. */
  readonly chats = new Map<string, HeldChat>();
  readonly bots: ReadonlyMap<string, PreparedBot>;
  readonly slots: Semaphore;
  /** Handlers whose promise has not settled: those running in a slot, and those abandoned after a timeout. */
  private readonly handlers = { running: 0 };
  /** Joins and resumes under way, by contactId. */
  private readonly joins = new Map<string, { kind: Admission; result: Promise<JoinResult> }>();
  /** ChatClient joins under way, by contactId, those answered CB_JOIN_TIMEOUT among them (see startJoin). */
  private readonly attempts = new Map<string, JoinAttempt>();
  /** Aborted when the shutdown starts: resumes still waiting for a quota token give up. */
  private readonly shutdownSignal = new AbortController();
  private readonly idleWaiters = new Set<() => void>();
  private readonly options: Required<Omit<BotHostOptions, 'defaultBot' | 'logger'>> & { defaultBot?: string };
  private readonly log: Logger;

  /** The guard registered in place of each listener, per event (see {@link BotHost.guarded}). */
  private readonly guards = new WeakMap<Listener, Map<HostEvent, Listener>>();
  /** Each guard's listener, for `listeners()`. */
  private readonly guarding = new WeakMap<Listener, Listener>();

  override listeners<E extends HostEvent>(event: E): Array<EventEmitter.EventListener<BotHostEvents, E>> {
    return super.listeners(event).map((guard) => (this.guarding.get(guard) ?? guard) as typeof guard);
  }

  override on<E extends HostEvent>(
    event: E,
    fn: EventEmitter.EventListener<BotHostEvents, E>,
    context?: unknown,
  ) {
    return super.on(event, this.guarded(event, fn) as typeof fn, context);
  }

  override addListener<E extends HostEvent>(
    event: E,
    fn: EventEmitter.EventListener<BotHostEvents, E>,
    context?: unknown,
  ) {
    return this.on(event, fn, context);
  }

  override once<E extends HostEvent>(
    event: E,
    fn: EventEmitter.EventListener<BotHostEvents, E>,
    context?: unknown,
  ) {
    return super.once(event, this.guarded(event, fn) as typeof fn, context);
  }

  override off<E extends HostEvent>(
    event: E,
    fn?: EventEmitter.EventListener<BotHostEvents, E>,
    context?: unknown,
    once?: boolean,
  ) {
    return super.off(event, fn && ((this.guards.get(fn)?.get(event) ?? fn) as typeof fn), context, once);
  }

  override removeListener<E extends HostEvent>(
    event: E,
    fn?: EventEmitter.EventListener<BotHostEvents, E>,
    context?: unknown,
    once?: boolean,
  ) {
    return this.off(event, fn, context, once);
  }

  /**
   * A listener that cannot fail: one that throws, or returns a promise that rejects, is logged as
   * `listener-failed`. The events fire inside a chat's queue, where a throw would stop the chat's handling, and a
   * rejection nobody handles would stop the process.
   */
  private guarded(event: HostEvent, fn: Listener): Listener {
    let byEvent = this.guards.get(fn);
    if (!byEvent) {
      byEvent = new Map();
      this.guards.set(fn, byEvent);
    }
    let guard = byEvent.get(event);
    if (!guard) {
      const log = this.log;
      guard = function (this: unknown, ...args: unknown[]) {
        // The chat the event is about (its first argument: a held chat, or a join request) is named on the line.
        const about = args[0] as Partial<HeldChat> & Partial<JoinRequest>;
        const where =
          about instanceof Object && typeof about.botName === 'string'
            ? { contactId: about.contactId, participantId: about.session?.participantId, bot: about.botName }
            : about instanceof Object && typeof about.contactId === 'string'
              ? { contactId: about.contactId, ...(about.bot ? { bot: about.bot } : {}) }
              : {};
        const failed = (error: unknown) =>
          log.warn(
            { event: 'listener-failed', listener: event, ...where, err: error },
            'a BotHost listener threw',
          );
        try {
          const result = fn.apply(this, args) as PromiseLike<unknown> | undefined;
          if (typeof result?.then === 'function') result.then(undefined, failed);
        } catch (error) {
          failed(error);
        }
      };
      byEvent.set(event, guard);
      this.guarding.set(guard, fn);
    }
    return guard;
  }

  private readonly chatOptions: HostedChatOptions;
  private accepting = true;
  /** Set once the shutdown has taken its list of chats: a chat opened after it is not held. */
  private released = false;
  private stopping: Promise<StopResult> | undefined;

  constructor(options: BotHostOptions) {
    super();
    this.bots = new Map(options.bots.map((bot) => [bot.name, bot]));
    const defaultBot =
      options.defaultBot === null
        ? undefined
        : (options.defaultBot ?? (options.bots.length === 1 ? options.bots[0]!.name : undefined));
    if (defaultBot !== undefined && !this.bots.has(defaultBot)) {
      throw new ConnectBotError(ErrorCode.UnknownBot, `default bot "${defaultBot}" is not loaded`);
    }
    this.options = {
      client: options.client,
      bots: options.bots,
      defaultBot,
      handlerTimeoutMs: options.handlerTimeoutMs ?? 30_000,
      maxQueueDepth: options.maxQueueDepth ?? 100,
      concurrency: options.concurrency ?? 500,
      maxChats: options.maxChats ?? 5000,
      joinTimeoutMs: options.joinTimeoutMs ?? 6000,
      onShutdown: options.onShutdown ?? 'handoff',
      drainTimeoutMs: options.drainTimeoutMs ?? 10_000,
      shutdownTimeoutMs: options.shutdownTimeoutMs ?? 25_000,
      handoffAttributes: options.handoffAttributes ?? { botShutdown: 'true' },
    };
    this.log = options.logger ?? silentLogger;
    this.slots = new Semaphore(this.options.concurrency);
    this.chatOptions = {
      handlerTimeoutMs: this.options.handlerTimeoutMs,
      maxQueueDepth: this.options.maxQueueDepth,
      slots: this.slots,
      handlers: this.handlers,
      logger: this.log,
      onIdle: (chat) => this.onIdle(chat),
      onHandlerError: (chat, error) => this.emit('handlerError', chat, error),
      onHandled: (chat, kind, ms, timedOut) => this.emit('handled', chat, kind, ms, timedOut),
      onReplied: (chat, result) => this.emit('replied', chat, result),
      onReceived: (chat, item) => this.emit('received', chat, item),
    };
  }

  /** Handlers running now, counting those abandoned after a timeout until they return. */
  get handlersRunning(): number {
    return this.handlers.running;
  }

  get client(): ChatClient {
    return this.options.client;
  }

  /** False while draining or stopped. */
  get isAccepting(): boolean {
    return this.accepting;
  }

  /** The most chats the host holds at once. */
  get capacity(): number {
    return this.options.maxChats;
  }

  /** True when joins would be refused for capacity. */
  get atCapacity(): boolean {
    return this.freeSlots === 0;
  }

  /** Chats the host can still take: its capacity less the chats held and the joins and resumes under way. */
  get freeSlots(): number {
    // Joins answered CB_JOIN_TIMEOUT whose bot may still connect, unless a request for the contact is counted.
    let given = 0;
    for (const [contactId, attempt] of this.attempts)
      if (!attempt.claimed && !this.joins.has(contactId)) given++;
    return Math.max(0, this.options.maxChats - this.chats.size - this.joins.size - given);
  }

  /** The bot a request gets: `bot`, then `attributes.bot`, then the default. */
  selectBot(request: Pick<JoinRequest, 'bot' | 'attributes'>): PreparedBot {
    // An empty `bot` (a flow parameter left blank) names none.
    const name = request.bot || request.attributes?.bot || this.options.defaultBot;
    if (!name)
      throw new ConnectBotError(
        ErrorCode.UnknownBot,
        'the join names no bot and no default bot is configured',
      );
    const bot = this.bots.get(name);
    if (!bot) {
      throw new ConnectBotError(
        ErrorCode.UnknownBot,
        `unknown bot "${name}" (loaded: ${[...this.bots.keys()].join(', ')})`,
      );
    }
    return bot;
  }

  /**
   * Puts a bot into a chat and resolves once it is connected. Idempotent per contact: a repeat while the bot
   * is live (or joining) returns the same participant.
   */
  join(request: JoinRequest): Promise<JoinResult> {
    return this.admit('join', request, (bot) => this.startJoin(request, bot));
  }

  /**
   * Takes over a chat another host (or this one before a restart) kept at a `keep` shutdown: re-attaches to its
   * participant, back-fills what was said meanwhile and what the bot there had not finished, and runs the same
   * bot with the attributes it had (those it set included). The bot's `onJoin` hook runs only if it had not
   * finished, and its per-chat state starts from `sessionDefaults`. Idempotent per contact like {@link join}; a
   * chat that ended meanwhile is `CB_CHAT_ENDED`; one the host stopped before it opened, `CB_SESSION_ENDED`.
   */
  resume(kept: KeptChat): Promise<JoinResult> {
    const { snapshot } = kept;
    const request: JoinRequest = {
      instanceId: snapshot.instanceId,
      contactId: snapshot.contactId,
      initialContactId: snapshot.initialContactId,
      bot: kept.bot,
      attributes: kept.attributes,
    };
    return this.admit('resume', request, (bot) => this.startResume(snapshot, request, bot, !kept.joined));
  }

  private async startResume(
    snapshot: SessionSnapshot,
    request: JoinRequest,
    bot: PreparedBot,
    greet: boolean,
  ): Promise<JoinResult> {
    const started = performance.now();
    const session = await this.options.client.resume(snapshot, {
      signal: this.shutdownSignal.signal,
      // A host that does not keep its chats lets go of one it was still taking over, as of the others.
      leaveIfClosed: this.options.onShutdown !== 'keep',
    });
    return this.adopt(session, request, bot, started, 'resume', greet);
  }

  /**
   * What joins and resumes share: one attempt per contact at a time, a live chat returned as it is, no new chat
   * while draining or at capacity, and every failure reported (`joinFailed` / `resumeFailed`) with its code. A
   * bot that is not loaded is refused even when the contact already has one.
   */
  private async admit(
    kind: Admission,
    request: JoinRequest,
    open: (bot: PreparedBot) => Promise<JoinResult>,
  ): Promise<JoinResult> {
    let bot: PreparedBot;
    try {
      bot = this.selectBot(request);
    } catch (error) {
      throw this.failed(kind, request, error, performance.now());
    }
    for (;;) {
      const live = this.chats.get(request.contactId);
      if (live && !live.session.ended) {
        return {
          participantId: live.session.participantId,
          contactId: request.contactId,
          bot: live.botName,
          reused: true,
        };
      }
      const pending = this.joins.get(request.contactId);
      if (!pending) break;
      if (pending.kind === kind) return { ...(await pending.result), reused: true };
      // A join does not stand in for a resume of the same contact, nor the other way round: once the other
      // settles, its chat (if it opened) is returned, or this one tries.
      await pending.result.catch(() => {});
    }
    const started = performance.now();
    const opening = (async () => {
      if (!this.accepting) throw new ConnectBotError(ErrorCode.NotAccepting, 'the host is shutting down');
      // A retry that takes over its own join given up on (see startJoin) needs no new room.
      if (this.atCapacity && !(kind === 'join' && this.attempts.has(request.contactId)))
        throw new ConnectBotError(
          ErrorCode.NotAccepting,
          `the host is at capacity (${this.options.maxChats} chats)`,
        );
      return open(bot);
    })();
    this.joins.set(request.contactId, { kind, result: opening });
    try {
      return await opening;
    } catch (error) {
      throw this.failed(kind, request, error, started);
    } finally {
      this.joins.delete(request.contactId);
      for (const wake of this.idleWaiters) wake();
    }
  }

  /** Reports a failed join or resume (`joinFailed` / `resumeFailed`, a log line) and returns its coded error. */
  private failed(kind: Admission, request: JoinRequest, error: unknown, started: number): ConnectBotError {
    // Not coded: a bug, reported as such (the join endpoint answers 500).
    const failure =
      error instanceof ConnectBotError
        ? error
        : new ConnectBotError(ErrorCode.Internal, `${kind} failed: ${describeThrown(error)}`, {
            cause: error,
          });
    this.emit(kind === 'join' ? 'joinFailed' : 'resumeFailed', request, failure, performance.now() - started);
    this.log.warn({ event: `${kind}-failed`, contactId: request.contactId, err: failure }, `${kind} failed`);
    return failure;
  }

  /**
   * Joins, within `joinTimeoutMs`. A join that runs out of time is answered CB_JOIN_TIMEOUT: if it was still
   * waiting for a CreateParticipant quota token, it gives up its place; if CreateParticipant was sent, it goes on,
   * and a retry for the same contact (the flow trying again) takes it over instead of adding a second bot, which
   * Connect would refuse. One that connects with no retry to take it leaves the chat: the flow no longer expects it.
   * A retry for another bot, or one that finds the bot leaving, waits until it has left.
   */
  private async startJoin(request: JoinRequest, bot: PreparedBot): Promise<JoinResult> {
    const started = performance.now();
    const { contactId } = request;
    let mine: JoinAttempt | undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new ConnectBotError(
          ErrorCode.JoinTimeout,
          `join did not complete within ${this.options.joinTimeoutMs} ms`,
        );
        if (mine) {
          mine.claimed = false;
          mine.controller.abort(error);
        }
        reject(error);
      }, this.options.joinTimeoutMs);
    });
    try {
      let attempt = this.attempts.get(contactId);
      if (attempt && (attempt.bot !== bot || attempt.leaving)) {
        await Promise.race([attempt.settled, timeout]);
        attempt = undefined;
      }
      if (!attempt) {
        if (!this.accepting) throw new ConnectBotError(ErrorCode.NotAccepting, 'the host is shutting down');
        attempt = this.startAttempt(request, bot);
      }
      attempt.claimed = true;
      mine = attempt;
      const session = await Promise.race([attempt.joining, timeout]);
      return this.adopt(session, request, bot, started, 'join', true);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Starts the ChatClient join of an attempt, kept in `attempts` until it is over (its bot left, if it must). */
  private startAttempt(request: JoinRequest, bot: PreparedBot): JoinAttempt {
    const { contactId } = request;
    const controller = new AbortController();
    const joining = this.options.client.join({
      instanceId: request.instanceId,
      contactId,
      initialContactId: request.initialContactId,
      displayName: bot.displayName,
      signal: controller.signal,
    });
    const attempt: JoinAttempt = {
      bot,
      joining,
      controller,
      claimed: true,
      leaving: false,
      settled: Promise.resolve(),
    };
    // Registered before the request's own wait on `joining`, so an unclaimed attempt is known to be leaving first.
    attempt.settled = joining
      .then(
        async (session) => {
          if (attempt.claimed) return; // the request that claimed it adopts the session
          attempt.leaving = true;
          await session.disconnect().catch(() => session.close());
        },
        () => {},
      )
      .finally(() => {
        if (this.attempts.get(contactId) === attempt) this.attempts.delete(contactId);
        for (const wake of this.idleWaiters) wake();
      });
    this.attempts.set(contactId, attempt);
    return attempt;
  }

  /**
   * Runs `bot` in a session just opened: the host holds the chat from here. `greet`: queue the bot's `onJoin`
   * hook (a join; a resume of a chat whose hook had not finished).
   */
  private async adopt(
    session: ChatSession,
    request: JoinRequest,
    bot: PreparedBot,
    started: number,
    kind: Admission,
    greet: boolean,
  ): Promise<JoinResult> {
    if (this.released) {
      // Opened after the shutdown dealt with the chats: this one is not among them. A joining bot leaves (the
      // join was answered as failed); a resumed one is kept for the next host if the host keeps its chats, and
      // leaves otherwise, as the others did.
      if (kind === 'resume' && this.options.onShutdown === 'keep') session.close();
      else await session.disconnect().catch(() => session.close());
      throw new ConnectBotError(ErrorCode.SessionEnded, `the host stopped during the ${kind}`);
    }
    let chat: HeldChat;
    try {
      chat = bot.attach(session, request.attributes ?? {}, this.chatOptions);
    } catch (error) {
      // The bot could not start (its sessionDefaults threw): no one would run the chat, so the bot leaves it.
      await session.disconnect().catch(() => session.close());
      throw new HandlerError(
        ErrorCode.HandlerFailed,
        `bot ${bot.name} could not start in the chat: ${describeThrown(error)}`,
        { cause: error },
      );
    }
    this.chats.set(request.contactId, chat);
    session.once('ended', (reason) => this.emit('chatEnded', chat, reason));
    chat.start(greet);
    const durationMs = performance.now() - started;
    this.log.info(
      {
        event: kind,
        contactId: request.contactId,
        participantId: session.participantId,
        bot: bot.name,
        durationMs,
      },
      `bot ${kind}ed`,
    );
    this.emit(kind === 'join' ? 'joined' : 'resumed', chat, durationMs);
    return {
      participantId: session.participantId,
      contactId: request.contactId,
      bot: bot.name,
      reused: false,
    };
  }

  private onIdle(chat: HeldChat): void {
    if (chat.session.ended && this.chats.get(chat.contactId) === chat) this.chats.delete(chat.contactId);
    for (const resolve of this.idleWaiters) resolve();
  }

  private get idle(): boolean {
    return this.joins.size === 0 && [...this.chats.values()].every((chat) => chat.idle);
  }

  /** Resolves true when every chat's queue is empty and no handler runs, false after `timeoutMs`. */
  private async drained(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!this.idle) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return false;
      // Woken by the next chat that goes idle, or by the deadline.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.idleWaiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.idleWaiters.clear();
    }
    return true;
  }

  /**
   * Graceful shutdown: stop accepting joins, let running handlers finish (up to the drain timeout), then
   * per `onShutdown`: `handoff` sets the handoff attributes and leaves so the flow routes the chat; `leave`
   * just leaves; `keep` closes the sockets without leaving, so another host can resume the chats.
   */
  stop(): Promise<StopResult> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<StopResult> {
    this.accepting = false;
    // Joins and resumes still waiting for a quota token give up (503): the flow takes its error branch now.
    const shuttingDown = new ConnectBotError(ErrorCode.NotAccepting, 'the host is shutting down');
    this.shutdownSignal.abort(shuttingDown);
    for (const attempt of this.attempts.values()) attempt.controller.abort(shuttingDown);
    const deadline = performance.now() + this.options.shutdownTimeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    this.emit('draining');
    const mode = this.options.onShutdown;
    this.log.info({ event: 'drain', chats: this.chats.size, mode }, 'draining');
    await this.drained(Math.min(this.options.drainTimeoutMs, left()));
    this.released = true;
    const live = [...this.chats.values()].filter((chat) => !chat.session.ended);
    const unfinished = live.filter((chat) => !chat.idle).length;
    const kept: KeptChat[] = [];
    const pending = new Set(live);
    const releasing = Promise.all(
      live.map(async (chat) => {
        const { session } = chat;
        try {
          if (mode === 'keep') {
            kept.push(chat.kept());
            session.close();
            return;
          }
          if (mode === 'handoff') {
            // Without its attributes the flow still gets the chat back; a bot left in it would hold it up.
            await session.setAttributes(this.options.handoffAttributes).catch((error: unknown) =>
              this.log.warn(
                {
                  event: 'shutdown-attributes-failed',
                  contactId: chat.contactId,
                  participantId: session.participantId,
                  err: error,
                },
                'could not set the handoff attributes; leaving anyway',
              ),
            );
            if (!pending.has(chat)) return; // overdue meanwhile: let go without leaving
          }
          await session.disconnect();
        } catch (error) {
          if (!pending.has(chat)) return; // overdue: closed, and counted there
          this.log.warn(
            {
              event: 'shutdown-failed',
              contactId: chat.contactId,
              participantId: session.participantId,
              err: error,
            },
            'could not release chat',
          );
          session.close();
        } finally {
          pending.delete(chat);
        }
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([releasing, new Promise((resolve) => (timer = setTimeout(resolve, left())))]);
    clearTimeout(timer);
    // Out of time: the chats not released yet are let go as `keep` would, for another host to take over (their
    // leave, if it still goes through, makes that take-over CB_CHAT_ENDED).
    const overdue = [...pending];
    for (const chat of overdue) {
      pending.delete(chat);
      if (mode !== 'keep') kept.push(chat.kept());
      chat.session.close();
    }
    if (overdue.length > 0) {
      this.log.warn(
        { event: 'shutdown-overdue', chats: overdue.length, mode },
        'chats not released within shutdown.timeoutMs: let go without leaving',
      );
    }
    // Joins and resumes still under way: closing their sessions fails them, and a join's bot leaves the chat
    // (nobody else knows it). Waited for, the join window at most, so the process does not exit before it left.
    this.options.client.closeAll();
    // At least a few seconds, even past the deadline: a join's bot that is leaving must get out.
    const joinsDeadline =
      performance.now() + Math.min(this.options.client.timings.joinWindowMs, Math.max(left(), 3000));
    while (this.joins.size > 0 || this.attempts.size > 0) {
      const remaining = joinsDeadline - performance.now();
      if (remaining <= 0) {
        this.log.warn(
          { event: 'stop-joins-unsettled', joins: this.joins.size + this.attempts.size },
          'joins still under way',
        );
        break;
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([
          ...[...this.joins.values()].map((pending) => pending.result),
          ...[...this.attempts.values()].map((attempt) => attempt.settled),
        ]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, remaining);
        }),
      ]);
      clearTimeout(timer);
      await new Promise((resolve) => setImmediate(resolve)); // their bookkeeping (admit's finally) runs first
    }
    this.log.info(
      { event: 'stopped', chats: live.length, unfinished, overdue: overdue.length, mode },
      'host stopped',
    );
    this.emit('stopped');
    return { mode, chats: live.length, unfinished, kept, overdue: overdue.length };
  }
}
