import { randomBytes } from 'node:crypto';
import { TokenBucketLimiter } from '../connect/quotas.js';
import { type ChatItem, type Emulator, type EmulatorOptions, startEmulator } from '../emulator/index.js';
import type { ConnectBotError } from '../errors.js';
import { BotHost } from '../host/host.js';
import { JoinServer } from '../host/join-server.js';
import { type AnyBotDefinition, prepareBot } from '../host/registry.js';
import { ChatClient } from '../session/client.js';
import { resolveTimings, type SessionTimings } from '../session/timings.js';

export interface TestChatOptions {
  /** Contact attributes the chat starts with (the bot sees them as `ctx.contact.attributes`). */
  attributes?: Record<string, string>;
  /** How long each expectation waits. Default 5 000 ms. */
  timeoutMs?: number;
  /** The host's handler timeout. Default 30 000 ms. */
  handlerTimeoutMs?: number;
  /**
   * Connect's quotas (10 messages/s per instance...) as in production: the host paces the bot's calls to them and
   * the emulator enforces them, so a bot that floods the chat is slowed here as it would be live. Default true;
   * `false` turns both off.
   */
  quotas?: boolean;
  /** Session timings (e.g. shorter heartbeats). */
  timings?: Partial<SessionTimings>;
  /** Emulator options (fault timings and the like). */
  emulator?: EmulatorOptions;
}

/** How a reply is matched: exact text, a RegExp, or a predicate. */
export type ReplyMatcher = string | RegExp | ((text: string) => boolean);

/** Thrown when an expectation fails; the message says what the bot did instead. */
export class ExpectationError extends Error {
  override readonly name = 'ExpectationError';
}

const CREDENTIALS = { accessKeyId: 'test-kit', secretAccessKey: 'test-kit' };
const open = new Set<TestChat>();
/** testChat calls that have not joined (or failed) yet. */
const starting = new Set<Promise<TestChat>>();

function describe(matcher: ReplyMatcher | undefined): string {
  if (matcher === undefined) return 'any reply';
  if (typeof matcher === 'string') return JSON.stringify(matcher);
  if (matcher instanceof RegExp) return String(matcher);
  return `a reply satisfying ${matcher.name || 'the predicate'}`;
}

function matches(matcher: ReplyMatcher | undefined, text: string): boolean {
  if (matcher === undefined) return true;
  if (typeof matcher === 'string') return text === matcher;
  if (matcher instanceof RegExp) {
    matcher.lastIndex = 0;
    return matcher.test(text);
  }
  return matcher(text);
}

/** How the emulator's reasons for the end of a chat read in a failure message. */
const END_REASONS: Record<string, string> = {
  'customer-disconnected': 'customer',
  stopped: 'the bot or the flow stopped the contact',
  'chat-duration-elapsed': 'its duration elapsed',
};

/**
 * One conversation with a bot, driven as the customer. The bot runs in-process on the real host and session
 * code, against an in-process emulator; the chat is invited through the simulated contact flow like in
 * production. Each expectation consumes the bot's replies in order.
 *
 * @example
 * const chat = await testChat(myBot, { attributes: { lang: 'en' } });
 * await chat.say('hi');
 * await chat.expectReply(/hello/i);
 * await chat.say('agent please');
 * await chat.expectHandoff({ intent: 'billing' });
 * await chat.close();
 */
export class TestChat {
  /** Errors the bot's handlers raised (also passed to the bot's own `catch`). */
  readonly errors: ConnectBotError[] = [];
  private consumed = 0;
  /** Errors consumed by expectError. */
  private errorsUsed = 0;
  private readonly errorListeners = new Set<() => void>();
  private closing: Promise<void> | undefined;

  /** @internal Use {@link testChat}. */
  constructor(
    readonly emulator: Emulator,
    readonly contactId: string,
    host: BotHost,
    private readonly teardown: () => Promise<void>,
    private readonly timeoutMs: number,
  ) {
    host.on('handlerError', (_chat, error) => {
      this.errors.push(error);
      for (const listener of [...this.errorListeners]) listener();
    });
  }

  /** Every message the bot has sent so far. */
  get replies(): string[] {
    return this.botItems().map((item) => item.Content ?? '');
  }

  /** The whole transcript (messages and events). */
  transcript(): ChatItem[] {
    return this.emulator.transcript(this.contactId);
  }

  /** The contact's attributes now (what the bot set with setAttributes or handoff). */
  attributes(): Record<string, string> {
    return this.emulator.contact(this.contactId).attributes;
  }

  /**
   * Sends a message as the customer: `text/plain` unless `contentType` says otherwise (`application/json`...).
   * Refused as Connect would refuse it: after the customer left or the chat ended (AccessDeniedException), or for
   * a content type or length the service does not take (ValidationException).
   */
  async say(text: string, options: { contentType?: string } = {}): Promise<void> {
    this.emulator.say(this.contactId, text, options);
  }

  /** Shows the typing indicator as the customer (the bot's `on('typing')`). */
  async typing(): Promise<void> {
    this.emulator.typing(this.contactId);
  }

  /**
   * Waits for the bot's next reply (after those already expected) and checks it. Returns its text.
   * Fails with what the bot said instead, or that it said nothing in time.
   */
  async expectReply(matcher?: ReplyMatcher, options: { timeoutMs?: number } = {}): Promise<string> {
    const index = this.consumed;
    let over: string | undefined;
    const reply = await this.waitFor(
      () => {
        const item = this.botItems()[index];
        if (item) return item;
        // Nothing more can come once the bot is out of the chat: fail now, not at the timeout.
        over = this.whyOver();
        return over ? null : undefined;
      },
      options.timeoutMs,
      () =>
        `Expected the bot to reply ${describe(matcher)}, but it said nothing within ${options.timeoutMs ?? this.timeoutMs} ms.` +
        ` Replies so far: ${JSON.stringify(this.replies)}${this.errorNote()}`,
    );
    if (reply === null) {
      throw new ExpectationError(
        `Expected the bot to reply ${describe(matcher)}, but ${over}. Replies so far: ${JSON.stringify(this.replies)}${this.errorNote()}`,
      );
    }
    this.consumed = index + 1;
    const text = reply.Content ?? '';
    if (!matches(matcher, text)) {
      throw new ExpectationError(
        `Expected the bot to reply ${describe(matcher)}, but it said ${JSON.stringify(text)}${this.errorNote()}`,
      );
    }
    return text;
  }

  /**
   * Fails if the bot has a reply no `expectReply` consumed, or replies within `ms` (default 300).
   */
  async expectNoReply(ms = 300): Promise<void> {
    const unexpected = () =>
      this.botItems()
        .slice(this.consumed)
        .map((item) => item.Content);
    if (unexpected().length === 0) await new Promise((resolve) => setTimeout(resolve, ms));
    const extra = unexpected();
    if (extra.length > 0)
      throw new ExpectationError(`Expected no reply, but the bot said ${JSON.stringify(extra)}`);
  }

  /**
   * Waits until the bot shows the typing indicator after the last expectation: after the last reply
   * `expectReply` consumed, and after the typing the last `expectTyping` consumed.
   */
  async expectTyping(options: { timeoutMs?: number } = {}): Promise<void> {
    const found = await this.waitFor(
      () => {
        const index = this.typings.findIndex(
          (replies, i) => i >= this.typingsUsed && replies >= this.consumed,
        );
        return index >= 0 ? index + 1 : undefined;
      },
      options.timeoutMs,
      () =>
        `Expected the bot to show typing, but it did not within ${options.timeoutMs ?? this.timeoutMs} ms${this.errorNote()}`,
    );
    this.typingsUsed = found;
  }

  /**
   * Waits until the bot hands the chat back to the flow (the Wait block ends with BotParticipantDisconnected)
   * and checks that the attributes it left include `attributes`.
   */
  async expectHandoff(
    attributes: Record<string, string> = {},
    options: { timeoutMs?: number } = {},
  ): Promise<Record<string, string>> {
    const wait = await this.waitFor(
      () => {
        const outcome = this.emulator.outcome(this.contactId).wait;
        return outcome.status === 'done' ? outcome : undefined;
      },
      options.timeoutMs,
      () =>
        `Expected the bot to hand off with ${JSON.stringify(attributes)}, but it is still in the chat after ` +
        `${options.timeoutMs ?? this.timeoutMs} ms. Its replies: ${JSON.stringify(this.replies)}${this.errorNote()}`,
    );
    if (wait.result !== 'BotParticipantDisconnected') {
      throw new ExpectationError(
        wait.reason?.startsWith('chat ended')
          ? `Expected a handoff, but the chat ended first (${wait.reason.slice('chat ended: '.length)})`
          : `Expected a handoff, but the flow's Wait block ended with ${wait.result} (${wait.reason})`,
      );
    }
    const actual = wait.attributes ?? {};
    const wrong = Object.entries(attributes).filter(([key, value]) => actual[key] !== value);
    if (wrong.length > 0) {
      throw new ExpectationError(
        `Expected a handoff with ${JSON.stringify(attributes)}, but the bot set ${JSON.stringify(actual)}` +
          ` (mismatched: ${wrong.map(([key]) => key).join(', ')})`,
      );
    }
    return actual;
  }

  /**
   * Waits for the next handler error after those already expected (what `bot.catch` got, and the host counts)
   * and checks its code (`CB_HANDLER_FAILED`, `CB_HANDLER_TIMEOUT`, `CB_QUEUE_FULL`...). Returns it.
   */
  async expectError(code?: string, options: { timeoutMs?: number } = {}): Promise<ConnectBotError> {
    const index = this.errorsUsed;
    const error = await this.waitFor(
      () => this.errors[index],
      options.timeoutMs,
      () =>
        `Expected a handler error${code ? ` ${code}` : ''}, but there was none within ${options.timeoutMs ?? this.timeoutMs} ms`,
    );
    this.errorsUsed = index + 1;
    if (code !== undefined && error.code !== code) {
      throw new ExpectationError(
        `Expected a handler error ${code}, but it was ${error.code}: ${error.message}`,
      );
    }
    return error;
  }

  /** Waits until the chat has ended (e.g. the bot called `ctx.end()`). */
  async expectEnded(options: { timeoutMs?: number } = {}): Promise<void> {
    await this.waitFor(
      () => this.emulator.contact(this.contactId).state === 'ended' || undefined,
      options.timeoutMs,
      () =>
        `Expected the chat to end, but it is still active. Bot replies: ${JSON.stringify(this.replies)}${this.errorNote()}`,
    );
  }

  /** Customer leaves the chat. */
  async leave(): Promise<void> {
    this.emulator.endChat(this.contactId, 'customer');
  }

  /** Stops the bot, the host and the emulator. Safe to call twice: every call resolves once all is down. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      open.delete(this);
      await this.teardown();
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal For each typing indicator the bot showed, how many replies it had sent before it. */
  readonly typings: number[] = [];
  /** Typing indicators consumed by expectTyping. */
  private typingsUsed = 0;

  private botItems(): ChatItem[] {
    return this.emulator
      .transcript(this.contactId)
      .filter((item) => item.Type === 'MESSAGE' && item.ParticipantRole === 'CUSTOM_BOT');
  }

  /** Why the bot can say nothing more, if so: the chat ended, or the bot left it (handed off). */
  private whyOver(): string | undefined {
    const wait = this.emulator.outcome(this.contactId).wait;
    if (wait.status === 'done') {
      if (wait.result === 'BotParticipantDisconnected') return 'the bot handed the chat off';
      if (wait.reason?.startsWith('chat ended')) {
        const reason = wait.reason.slice('chat ended: '.length);
        return `the chat ended (${END_REASONS[reason] ?? reason})`;
      }
      // The Wait block ended another way (it timed out, no bot was found): the bot is no longer in the chat.
      return `the flow's Wait block ended (${wait.result}${wait.reason ? `: ${wait.reason}` : ''}); the bot is no longer in the chat`;
    }
    if (this.emulator.contact(this.contactId).state === 'ended') return 'the chat ended';
    return undefined;
  }

  private errorNote(): string {
    return this.errors.length > 0
      ? `. Handler errors: ${this.errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`
      : '';
  }

  /** Resolves with the first value `check` returns, re-checking on every chat event; fails after the timeout. */
  private waitFor<T>(
    check: () => T | undefined,
    timeoutMs: number | undefined,
    failure: () => string,
  ): Promise<T> {
    const first = check();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise((resolve, reject) => {
      const state = this.emulator.state;
      const onChange = () => {
        const value = check();
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new ExpectationError(failure()));
      }, timeoutMs ?? this.timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        state.off('item', onChange);
        state.off('outcome', onChange);
        state.off('contactEnded', onChange);
        this.errorListeners.delete(onChange);
      };
      state.on('item', onChange);
      state.on('outcome', onChange);
      state.on('contactEnded', onChange);
      this.errorListeners.add(onChange);
    });
  }
}

/**
 * Starts a chat with `bot` and waits until the bot has joined. Close it when done (`await chat.close()`, or
 * `await using chat = ...`), or call {@link closeAllTestChats} in an `afterEach`.
 */
export function testChat(bot: AnyBotDefinition, options: TestChatOptions = {}): Promise<TestChat> {
  // Tracked until it has joined (or failed): closeAllTestChats closes one still joining too.
  const joining = openTestChat(bot, options);
  starting.add(joining);
  const settled = () => starting.delete(joining);
  joining.then(settled, settled);
  return joining;
}

async function openTestChat(bot: AnyBotDefinition, options: TestChatOptions): Promise<TestChat> {
  const timeoutMs = options.timeoutMs ?? 5000;
  // What can refuse the bot or the options comes before anything is started (nothing to tear down).
  const prepared = prepareBot(bot);
  const timings = resolveTimings(options.timings);
  const emulator = await startEmulator({ quotas: options.quotas !== false, ...options.emulator });
  const limiter = options.quotas === false ? undefined : new TokenBucketLimiter();
  const client = new ChatClient({
    region: emulator.region,
    endpoint: emulator.endpoint,
    credentials: CREDENTIALS,
    retry: { minDelayMs: 20, maxDelayMs: 500 },
    ...(limiter ? { rateLimiter: limiter } : {}),
    timings,
  });
  const host = new BotHost({
    client,
    bots: [prepared],
    handlerTimeoutMs: options.handlerTimeoutMs ?? 30_000,
    drainTimeoutMs: 1000,
    onShutdown: 'leave',
  });
  const secret = randomBytes(24).toString('base64url');
  const server = new JoinServer(host, { port: 0, secret });
  const teardown = async () => {
    await server.close();
    await host.stop();
    limiter?.close();
    await emulator.close();
  };
  try {
    const joinUrl = await server.listen();
    // The bot's name travels as the flow's Invoke Lambda parameter, as in production; the chat's contact
    // attributes are the test's own.
    emulator.setFlow({ url: joinUrl, secret, parameters: { bot: bot.name } });
    const started = emulator.startChat({ attributes: { ...options.attributes } });
    const chat = new TestChat(emulator, started.contactId, host, teardown, timeoutMs);
    emulator.state.on('item', (_contact, item) => {
      if (
        item.ParticipantRole === 'CUSTOM_BOT' &&
        item.ContentType === 'application/vnd.amazonaws.connect.event.typing'
      ) {
        chat.typings.push(chat.replies.length);
      }
    });
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        const lambda = emulator.outcome(started.contactId).lambda;
        if (!lambda || lambda.status === 'pending') return false;
        emulator.state.off('outcome', check);
        clearTimeout(timer);
        if (lambda.status === 'succeeded') resolve();
        else
          reject(
            new ExpectationError(`The bot did not join: ${JSON.stringify(lambda.response ?? lambda.error)}`),
          );
        return true;
      };
      const timer = setTimeout(() => {
        emulator.state.off('outcome', check);
        reject(new ExpectationError(`The bot did not join within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) emulator.state.on('outcome', check);
    });
    open.add(chat);
    return chat;
  } catch (error) {
    await teardown();
    throw error;
  }
}

/** Closes every test chat still open, those still joining included (for an `afterEach`). */
export async function closeAllTestChats(): Promise<void> {
  await Promise.allSettled([...starting]);
  await Promise.all([...open].map((chat) => chat.close()));
}
