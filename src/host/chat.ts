import type { Bot } from '../bot/bot.js';
import { BotError } from '../bot/composer.js';
import { type ChatActions, type ContactInfo, Context, type UpdateKind } from '../bot/context.js';
import { ConnectBotError, ErrorCode } from '../errors.js';
import type { Logger } from '../observability/log-types.js';
import { type ChatItem, ContentType, isTranscriptItem, type MessageContentType } from '../session/items.js';
import { LatestItems } from '../session/latest-items.js';
import { RecentIds } from '../session/recent-ids.js';
import {
  type ChatSession,
  type EndReason,
  RECENT_LIMIT,
  REORDER_ALLOWANCE,
  type SessionSnapshot,
} from '../session/session.js';
import type { Semaphore } from './semaphore.js';
import { replyClientToken } from './tokens.js';

/** The host's view of a chat, whatever the type of its bot's state. */
export interface HeldChat {
  readonly session: ChatSession;
  readonly contact: ContactInfo;
  readonly botName: string;
  readonly stats: HostedChat['stats'];
  readonly queueDepth: number;
  readonly idle: boolean;
  readonly outcome: 'handoff' | 'ended' | undefined;
  readonly contactId: string;
  /** Queues the bot's `onJoin` hook when `greet`; otherwise the chat starts as one already greeted. */
  start(greet: boolean): void;
  /** The session's snapshot, its position bounded by the updates the bot has finished (see HostedChat). */
  snapshot(): SessionSnapshot;
  /** What another host needs to take the chat over (see {@link BotHost.resume}). Contains a secret. */
  kept(): KeptChat;
}

/** A chat kept at a `keep` shutdown: what another host needs to take it over with {@link BotHost.resume}. */
export interface KeptChat {
  /** The bot that ran the chat. */
  bot: string;
  /**
   * The join's attributes, with those the bot set since (`ctx.setAttributes`, a handoff's); the resumed bot
   * reads them as `ctx.contact.attributes`.
   */
  attributes: Record<string, string>;
  /** Whether the bot's `onJoin` hook had finished; if not, the next host runs it (its replies are not posted twice). */
  joined: boolean;
  /** The participant, positioned after the last update the bot finished. Contains a secret. */
  snapshot: SessionSnapshot;
}

export interface HostedChatOptions {
  /** A handler still running after this long is abandoned: the queue moves on. */
  handlerTimeoutMs: number;
  /** Items waiting beyond this are dropped with CB_QUEUE_FULL. */
  maxQueueDepth: number;
  /** The host-wide cap on handlers running at once. */
  slots: Semaphore;
  /** Handlers whose promise has not settled, host-wide: those abandoned after a timeout too. */
  handlers: { running: number };
  logger: Logger;
  /** Called when the queue has run dry (drain waits on it). */
  onIdle: (chat: HeldChat) => void;
  /** Called for every handler failure or timeout, after the bot's own error handler. */
  onHandlerError: (chat: HeldChat, error: ConnectBotError) => void;
  /** Called for every item from another participant (before queueing). */
  onReceived: (chat: HeldChat, item: ChatItem) => void;
  /** Called once per reply the bot sent or tried to send: `ok`, or the code it failed with. */
  onReplied: (chat: HeldChat, result: string) => void;
  /** Called after each handler run. */
  onHandled: (chat: HeldChat, kind: UpdateKind, durationMs: number, timedOut: boolean) => void;
}

interface Entry {
  kind: UpdateKind;
  item?: ChatItem;
  /** Items delivered after this entry that are not the bot's business (its own messages): done with it. */
  followers?: ChatItem[];
  /** Reports of the updates dropped while this entry was the last queued (CB_QUEUE_FULL), run after it. */
  drops?: Array<() => Promise<void>>;
}

/**
 * The chat ending for the customer (their participant.left, chat.ended): delivered to the bot even after the end
 * or its own handoff, for its bookkeeping, and never dropped for a full queue.
 */
function isChatEnding(item: ChatItem): boolean {
  return (
    item.ContentType === ContentType.chatEnded ||
    (item.ContentType === ContentType.participantLeft && item.ParticipantRole === 'CUSTOMER')
  );
}

/** Maps an item to the update kind bots see. */
export function kindOf(item: ChatItem): UpdateKind {
  if (item.Type === 'MESSAGE') return 'message';
  switch (item.ContentType) {
    case ContentType.typing:
      return 'typing';
    case ContentType.participantJoined:
      return 'participant.joined';
    case ContentType.participantLeft:
      return 'participant.left';
    case ContentType.chatEnded:
      return 'chat.ended';
    default:
      return 'event';
  }
}

/**
 * One chat held by the host: its session, its bot, its per-chat state, and a sequential queue so the bot
 * sees the chat's updates one at a time and in order, while other chats run concurrently.
 */
export class HostedChat<S = unknown> implements ChatActions, HeldChat {
  readonly contact: ContactInfo;
  readonly state: S;
  private readonly queue: Entry[] = [];
  private running = false;
  /** The contexts of the handler and the error handler running now: a release revokes them. */
  private readonly acting = new Set<Context<S>>();
  /** The entry being handled. */
  private current: Entry | undefined;
  /** Set once the `onJoin` hook has run (or was not to run: a resumed chat already greeted). */
  private joined = false;
  /** The join's attributes with those the bot set since: what `ctx.contact.attributes` reads, and what is kept. */
  private attributes: Readonly<Record<string, string>>;
  /**
   * The transcript items the bot is done with, kept as the session keeps the items it accepted. Items are done
   * in the order they were delivered, so every item still queued or running comes after them: a snapshot with
   * this position passes those on to the next host.
   */
  private readonly done = new LatestItems(REORDER_ALLOWANCE, RECENT_LIMIT);
  /** Items already handled: a re-delivered item is never handled twice. */
  private readonly processed = new RecentIds(512);
  private readonly log: Logger;
  /** Set once the bot handed off or ended the chat. */
  outcome: 'handoff' | 'ended' | undefined;
  /**
   * `skipped`: updates still queued when the chat ended or the bot handed it off or ended it, not given to the
   * bot (their replies could only fail, and their actions would undo the handoff's).
   */
  readonly stats = { handled: 0, skipped: 0, repliesSent: 0, timeouts: 0, dropped: 0, errors: 0 };

  constructor(
    readonly session: ChatSession,
    readonly bot: Bot<S>,
    attributes: Record<string, string>,
    state: S,
    private readonly options: HostedChatOptions,
  ) {
    this.attributes = Object.freeze({ ...attributes });
    const chat = this;
    this.contact = Object.freeze({
      instanceId: session.instanceId,
      contactId: session.contactId,
      initialContactId: session.initialContactId,
      get attributes() {
        return chat.attributes;
      },
    });
    this.state = state;
    this.log = options.logger.child({
      contactId: session.contactId,
      participantId: session.participantId,
      bot: bot.name,
    });
    // What the session had accepted before the bot came (history, a resumed snapshot's items) needs nothing.
    for (const entry of session.snapshot().recent ?? []) this.done.add(entry.id, entry.time);
    session.on('item', (item) => this.onItem(item));
    session.on('ended', (reason) => this.onEnded(reason));
  }

  get contactId(): string {
    return this.session.contactId;
  }

  get botName(): string {
    return this.bot.name;
  }

  /** Updates waiting to be handled. */
  get queueDepth(): number {
    return this.queue.length;
  }

  /** True while nothing is queued or running. */
  get idle(): boolean {
    return !this.running && this.queue.length === 0;
  }

  /**
   * The session's snapshot, but positioned after the last update the bot finished, not the last the session
   * accepted: another host resuming from it gets the updates still queued here, and the one running (its replies
   * carry the same ClientTokens there, so a reply already sent is not posted twice).
   */
  snapshot(): SessionSnapshot {
    const { cursor, cursorTime, recent, ...identity } = this.session.snapshot();
    return { ...identity, ...this.done.position() };
  }

  kept(): KeptChat {
    return {
      bot: this.bot.name,
      attributes: { ...this.attributes },
      joined: this.joined,
      snapshot: this.snapshot(),
    };
  }

  /** Queues the `join` hook, which runs before any message, when `greet`. */
  start(greet: boolean): void {
    if (greet) this.enqueue({ kind: 'join' }, true);
    else this.joined = true;
  }

  private onItem(item: ChatItem): void {
    // Own messages and other bots' echoes are not the bot's business.
    if (this.session.isOwn(item) || (item.Type === 'MESSAGE' && item.ParticipantRole === 'CUSTOM_BOT')) {
      this.follow(item);
      return;
    }
    if (this.processed.has(item.Id)) return;
    this.options.onReceived(this, item);
    // The chat's own end is never dropped for a full queue: the bot is owed it (see runEntry).
    this.enqueue({ kind: kindOf(item), item }, isChatEnding(item));
  }

  private onEnded(reason: EndReason): void {
    if (reason === 'closed') {
      // Released locally (e.g. kept at shutdown for another host to resume): the chat goes on, so the end hook,
      // the bot's cleanup, is not this host's to run. A handler still running here may no longer act on the
      // contact (its attributes, StopContact): the next host holds it, and handles that update again.
      this.log.info({ event: 'released' }, 'chat released by the host; the bot stays in it');
      const released = new ConnectBotError(ErrorCode.SessionEnded, 'the chat was released to another host');
      for (const ctx of this.acting) ctx.revoke(released);
      if (this.idle) this.options.onIdle(this);
      return;
    }
    this.log.info({ event: 'end', reason }, 'chat ended for the bot');
    this.enqueue({ kind: 'end' }, true);
  }

  /** Marks `item`, which the bot will not be given, done once the updates delivered before it are. */
  private follow(item: ChatItem): void {
    const last = this.queue.at(-1) ?? this.current;
    if (!last) this.markDone(item);
    else if (last.followers) last.followers.push(item);
    else last.followers = [item];
  }

  private enqueue(entry: Entry, always: boolean): void {
    if (!always && this.queue.length >= this.options.maxQueueDepth) {
      // Dropped: done once the updates delivered before it are, so a host that takes the chat over after they
      // finished does not handle it either.
      if (entry.item) this.follow(entry.item);
      this.stats.dropped++;
      const error = new ConnectBotError(
        ErrorCode.QueueFull,
        `chat queue is full (${this.options.maxQueueDepth} updates waiting); dropped item ${entry.item?.Id}`,
      );
      // Reported in the chat's turn, after the updates delivered before it: an apology for it must not come
      // ahead of their answers.
      const ctx = this.context(entry).forErrorHandler();
      const last = this.queue.at(-1)!; // the queue is full
      last.drops ??= [];
      last.drops.push(() => this.failInTurn(ctx, error));
      return;
    }
    this.queue.push(entry);
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let entry = this.queue.shift(); entry; entry = this.queue.shift()) {
        this.current = entry;
        await this.options.slots.acquire();
        try {
          await this.runEntry(entry);
          // Released to another host (keep): it handles the dropped updates; they were never this bot's to report.
          for (const report of entry.drops ?? []) {
            if (this.session.endedBecause === 'closed') break; // released meanwhile, as above
            await report();
          }
        } finally {
          this.options.slots.release();
        }
        if (entry.item) this.markDone(entry.item);
        else if (entry.kind === 'join') this.joined = true;
        for (const item of entry.followers ?? []) this.markDone(item);
      }
    } finally {
      this.running = false;
      this.current = undefined;
    }
    this.options.onIdle(this);
  }

  private async runEntry(entry: Entry): Promise<void> {
    if (entry.item && this.processed.has(entry.item.Id)) return;
    // The chat's own end (the customer left, chat.ended) is still the bot's to see, for its bookkeeping: its
    // actions fail with coded errors. Anything else after the end or the bot's own outcome is skipped.
    if (entry.item && (this.session.ended || this.outcome) && !isChatEnding(entry.item)) {
      this.processed.add(entry.item.Id);
      this.stats.skipped++;
      return;
    }
    const ctx = this.context(entry);
    const started = performance.now();
    this.acting.add(ctx);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.options.handlerTimeoutMs);
    });
    this.options.handlers.running++;
    const handled = this.bot.handle(ctx).then((error) => {
      this.options.handlers.running--;
      return error ?? ('done' as const);
    });
    // Only the middleware races the timer: the error handler for what it threw gets a limit of its own.
    const result = await Promise.race([handled, timedOut]);
    clearTimeout(timer);
    this.acting.delete(ctx);
    if (entry.item) this.processed.add(entry.item.Id);
    this.stats.handled++;
    if (this.session.endedBecause === 'closed' && result !== 'done') {
      // Released meanwhile: the next host handles this update again. What went wrong here (most likely the
      // release itself) is not this bot's to report, and its error handler must not act on the chat.
      if (result === 'timeout') this.stats.timeouts++;
      ctx.revoke(new ConnectBotError(ErrorCode.SessionEnded, 'the chat was released to another host'));
    } else if (result === 'timeout') {
      this.stats.timeouts++;
      const error = new ConnectBotError(
        ErrorCode.HandlerTimeout,
        `handler for ${entry.kind}${entry.item ? ` ${entry.item.Id}` : ''} did not finish within ${this.options.handlerTimeoutMs} ms`,
      );
      // The abandoned handler may still wake up; it must not reply out of order. The error handler gets a
      // context of its own, which may still apologise (its replies follow the handler's, with their own tokens),
      // in the queue's turn: the next update waits for it, up to another handler timeout.
      const successor = ctx.successor();
      ctx.revoke(error);
      await this.failInTurn(successor, error);
    } else if (result !== 'done') {
      // The error handler's replies get tokens of their own (the same context, which middleware may have added
      // to): when the update is handled again after a keep restart, its answer is not taken for the apology.
      ctx.forErrorHandler();
      await this.failInTurn(ctx, result);
    }
    this.options.onHandled(this, entry.kind, performance.now() - started, result === 'timeout');
  }

  private markDone(item: ChatItem): void {
    if (isTranscriptItem(item) && !this.done.has(item.Id)) this.done.add(item.Id, item.AbsoluteTime);
  }

  private context(entry: Entry): Context<S> {
    return new Context<S>(entry.kind, entry.item, this.contact, this.state, this.log, this);
  }

  /** Reports a handler's failure (or one it did not throw itself); resolves when the bot's error handler is done. */
  private fail(ctx: Context<S>, error: ConnectBotError): Promise<void> {
    this.stats.errors++;
    const botError = error instanceof BotError ? error : new BotError(error, ctx);
    const reported = this.bot.report(botError);
    this.options.onHandlerError(this, botError);
    return reported;
  }

  /**
   * As {@link fail}, but waits for the error handler, at most a handler timeout: then its context is revoked, so
   * what it does late cannot land after the next update's answers. One that returned in time keeps what it
   * started (an apology it did not await).
   */
  private async failInTurn(ctx: Context<S>, error: ConnectBotError): Promise<void> {
    this.acting.add(ctx);
    const reported = this.fail(ctx, error)
      .then(() => false)
      .finally(() => this.acting.delete(ctx));
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.options.handlerTimeoutMs);
    });
    const late = await Promise.race([reported, limit]);
    clearTimeout(timer);
    if (late) ctx.revoke(error);
  }

  // ---- ChatActions ----------------------------------------------------------------------------------

  async reply(
    text: string,
    contentType: MessageContentType,
    itemId: string,
    replyIndex: number,
    signal?: AbortSignal,
  ): Promise<{ id: string }> {
    const clientToken = replyClientToken(this.contactId, this.session.participantId, itemId, replyIndex);
    let sent: { id: string };
    try {
      sent = await this.session.sendMessage(text, {
        contentType,
        clientToken,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      this.options.onReplied(this, error instanceof ConnectBotError ? error.code : ErrorCode.Internal);
      throw error;
    }
    this.stats.repliesSent++;
    this.options.onReplied(this, 'ok');
    return { id: sent.id };
  }

  typing(signal?: AbortSignal): Promise<void> {
    return this.session.sendEvent('typing', signal ? { signal } : {});
  }

  markRead(messageId: string): Promise<void> {
    return this.session.sendEvent('read', { messageId });
  }

  async setAttributes(attributes: Record<string, string>): Promise<void> {
    this.assertNoOutcome('setAttributes');
    await this.session.setAttributes(attributes);
    this.attributes = Object.freeze({ ...this.attributes, ...attributes });
  }

  async handoff(attributes: Record<string, string>): Promise<void> {
    // Over already (the customer left, the chat ended): no flow is waiting to take it back.
    if (this.session.ended) {
      throw new ConnectBotError(
        ErrorCode.SessionEnded,
        `handoff: the chat is over for the bot (${this.session.endedBecause})`,
      );
    }
    if (Object.keys(attributes).length > 0) await this.setAttributes(attributes);
    this.log.info(
      { event: 'handoff', attributes: Object.keys(attributes) },
      'handing the chat back to the flow',
    );
    await this.settle('handoff', () => this.session.disconnect());
  }

  async end(): Promise<void> {
    this.assertNoOutcome('end');
    await this.settle('ended', () => this.session.stopContact());
  }

  /**
   * Once the bot handed the chat back (the flow branches on the attributes it left) or ended it, its attributes
   * are final and the contact is the flow's: a later action of the same handler, or of onEnd, would undo that.
   */
  private assertNoOutcome(action: string): void {
    if (this.outcome) {
      throw new ConnectBotError(
        ErrorCode.SessionEnded,
        `${action}: the bot already ${this.outcome === 'handoff' ? 'handed the chat back to the flow' : 'ended the chat'}`,
      );
    }
  }

  /**
   * Sets the outcome while `act` runs (updates queued meanwhile are skipped); if it fails and the session goes
   * on, the bot is still in the chat and the outcome is undone, so it keeps answering.
   */
  private async settle(outcome: 'handoff' | 'ended', act: () => Promise<void>): Promise<void> {
    this.outcome = outcome;
    try {
      await act();
    } catch (error) {
      if (!this.session.ended) this.outcome = undefined;
      throw error;
    }
  }
}
