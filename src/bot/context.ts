import { ConnectBotError, ErrorCode } from '../errors.js';
import type { Logger } from '../observability/log-types.js';
import type { ChatItem, MessageContentType } from '../session/items.js';

/** What kind of update a context carries. `join` and `end` are the lifecycle hooks. */
export type UpdateKind =
  | 'message'
  | 'typing'
  | 'participant.joined'
  | 'participant.left'
  | 'chat.ended'
  | 'event'
  | 'join'
  | 'end';

/** A context's own state that belongs to one handler run, never carried over to a successor. */
const PER_HANDLER = new Set(['scope', 'revoked', 'inFlight', 'replies']);

/** Who sent an item. */
export interface Sender {
  participantId: string;
  role: string;
  displayName: string;
}

/** The contact a chat belongs to, and the attributes the flow passed at join time. */
export interface ContactInfo {
  instanceId: string;
  contactId: string;
  initialContactId: string;
  /** Contact attributes and flow parameters from the join request, with those the bot set since (live). */
  attributes: Readonly<Record<string, string>>;
}

/**
 * What a context can do in its chat. The host implements it; a bot never touches a session or an SDK client.
 * `replyIndex` and `itemId` let the host derive a deterministic ClientToken per reply, so a re-run of the same
 * handler for the same item cannot post twice.
 */
export interface ChatActions {
  /** `signal`: aborted when the handler is abandoned; a reply still retrying then gives up. */
  reply(
    text: string,
    contentType: MessageContentType,
    itemId: string,
    replyIndex: number,
    signal?: AbortSignal,
  ): Promise<{ id: string }>;
  typing(signal?: AbortSignal): Promise<void>;
  markRead(messageId: string): Promise<void>;
  setAttributes(attributes: Record<string, string>): Promise<void>;
  handoff(attributes: Record<string, string>): Promise<void>;
  end(): Promise<void>;
}

export interface ReplyOptions {
  /** `text/plain` (default), `text/markdown` or `application/json`. */
  contentType?: MessageContentType;
}

/**
 * Everything a handler needs about one update in one chat, and the verbs to answer it.
 *
 * @example
 * bot.on('message', async (ctx) => {
 *   await ctx.typing();
 *   await ctx.reply(`You said: ${ctx.text}`);
 * });
 */
export class Context<S = Record<string, unknown>> {
  /** Set by `hears` when its trigger matched. */
  match: RegExpMatchArray | string | undefined;
  private replies = 0;
  /**
   * The namespace of this context's reply tokens: the update's item Id (or its kind), or that and `catch` for the
   * error handler's replies (see {@link Context.forErrorHandler}).
   */
  private scope: string;
  private revoked: ConnectBotError | undefined;
  /** Made on the first reply or typing: aborted when the context is revoked, so those still retrying give up. */
  private inFlight: AbortController | undefined;

  constructor(
    /** The kind of update. */
    readonly kind: UpdateKind,
    /** The chat item, except for the `join` and `end` hooks. */
    readonly item: ChatItem | undefined,
    readonly contact: ContactInfo,
    /** Per-chat state, kept for the chat's whole life; typed by the bot's `sessionDefaults`. */
    readonly session: S,
    /** A logger bound to this chat and bot. */
    readonly log: Logger,
    private readonly actions: ChatActions,
  ) {
    this.scope = item?.Id ?? kind;
  }

  /** The message text (message updates only). */
  get text(): string | undefined {
    return this.kind === 'message' ? (this.item?.Content ?? '') : undefined;
  }

  /** The sender of the item, if any. */
  get from(): Sender | undefined {
    const item = this.item;
    if (!item?.ParticipantId) return undefined;
    return {
      participantId: item.ParticipantId,
      role: item.ParticipantRole ?? 'UNKNOWN',
      displayName: item.DisplayName ?? '',
    };
  }

  /**
   * Sends a message to the chat. Each reply of a handler run gets a deterministic ClientToken, so a
   * re-delivered item cannot be answered twice.
   */
  async reply(text: string, options: ReplyOptions = {}): Promise<{ id: string }> {
    this.check('reply');
    const index = this.replies++;
    this.inFlight ??= new AbortController();
    return this.actions.reply(
      text,
      options.contentType ?? 'text/plain',
      this.scope,
      index,
      this.inFlight.signal,
    );
  }

  /** Shows the typing indicator to the customer (it fades after about 10 s). */
  async typing(): Promise<void> {
    this.check('typing');
    this.inFlight ??= new AbortController();
    return this.actions.typing(this.inFlight.signal);
  }

  /** Sends a read receipt for the current message. */
  async markRead(): Promise<void> {
    this.check('markRead');
    if (this.item?.Type !== 'MESSAGE') {
      throw new ConnectBotError(ErrorCode.InvalidArgument, 'markRead needs a message update');
    }
    return this.actions.markRead(this.item.Id);
  }

  /** Merges attributes into the contact's attributes, where the contact flow can read them. */
  async setAttributes(attributes: Record<string, string>): Promise<void> {
    this.check('setAttributes');
    return this.actions.setAttributes(attributes);
  }

  /**
   * Hands the chat back to the contact flow: sets `attributes` (UpdateContactAttributes), then leaves
   * (DisconnectParticipant), so the flow's Wait block continues through "Bot participant disconnected" and
   * can branch on the attributes.
   */
  async handoff(attributes: Record<string, string> = {}): Promise<void> {
    this.check('handoff');
    return this.actions.handoff(attributes);
  }

  /** Ends the chat for everyone (StopContact). */
  async end(): Promise<void> {
    this.check('end');
    return this.actions.end();
  }

  /**
   * @internal A context for the same update that can still act, for the error handler once this one was revoked
   * (its replies have tokens of their own: {@link Context.forErrorHandler}).
   */
  successor(): Context<S> {
    this.check('successor'); // an abandoned handler cannot make itself a context that acts
    const next = new Context<S>(this.kind, this.item, this.contact, this.session, this.log, this.actions);
    next.match = this.match;
    // What middleware added to the context (`ctx.lang`, `ctx.user`), as bot.catch sees it for a thrown error.
    const from = this as unknown as Record<string, unknown>;
    const to = next as unknown as Record<string, unknown>;
    for (const key of Object.keys(from)) {
      // Not a verb or getter middleware replaced on this context (a wrapped `reply`): bound to it, it would act
      // through the abandoned context.
      if (!Object.hasOwn(to, key) && !PER_HANDLER.has(key) && !(key in Context.prototype))
        to[key] = from[key];
    }
    return next.forErrorHandler();
  }

  /**
   * @internal Gives this context's replies tokens of their own, for an error handler that runs without the
   * update's handler (a timeout, a dropped update): when the update is handled again later (by the next host,
   * after a `keep` restart), its replies cannot be taken for the apology's, nor the apology's for theirs.
   */
  forErrorHandler(): this {
    this.scope = `${this.item?.Id ?? this.kind}\u0000catch`;
    this.replies = 0;
    return this;
  }

  /** @internal After a handler timed out, its context can no longer act: late replies would arrive out of order. */
  revoke(reason: ConnectBotError): void {
    this.revoked = reason;
    // A reply still retrying would arrive out of order, after later answers (one already sent stays sent).
    this.inFlight?.abort(reason);
  }

  /** @internal True once {@link Context.revoke} was called: the handler was abandoned and already reported. */
  get isRevoked(): boolean {
    return this.revoked !== undefined;
  }

  private check(action: string): void {
    if (this.revoked) {
      throw new ConnectBotError(this.revoked.code, `${action} refused: ${this.revoked.message}`, {
        cause: this.revoked,
      });
    }
  }
}

/** A context narrowed to message updates: `text` and `from` are always there. */
export type MessageContext<C extends Context<unknown>> = C & {
  kind: 'message';
  item: ChatItem;
  readonly text: string;
  readonly from: Sender;
};

/** A context narrowed by `on(kind)`. */
export type KindContext<C extends Context<unknown>, K extends UpdateKind> = K extends 'message'
  ? MessageContext<C>
  : K extends 'join' | 'end'
    ? C & { kind: K }
    : C & { kind: K; item: ChatItem };

/** What `hears` sets `ctx.match` to for a trigger: the RegExp's match (with its groups), or the text. */
export type HearsMatch<T extends string | RegExp> = T extends RegExp
  ? RegExpMatchArray
  : T extends string
    ? string
    : never;

/** A context whose message matched a `hears` trigger of type `T`. */
export type HearsContext<
  C extends Context<unknown>,
  T extends string | RegExp = string | RegExp,
> = MessageContext<C> & {
  match: HearsMatch<T>;
};

/** Update kinds `on` handles: every one but the lifecycle hooks (`bot.onJoin`, `bot.onEnd`). */
export type ItemKind = Exclude<UpdateKind, 'join' | 'end'>;
