import { ConnectBotError, describeThrown, ErrorCode, HandlerError } from '../errors.js';
import type { Logger } from '../observability/log-types.js';
import type { Context, HearsContext, ItemKind, KindContext, UpdateKind } from './context.js';

export type NextFunction = () => Promise<void>;

/** A middleware: do something with `ctx`, and call `next()` to pass it on. */
export type MiddlewareFn<C> = (ctx: C, next: NextFunction) => unknown;

export interface MiddlewareObj<C> {
  middleware(): MiddlewareFn<C>;
}

export type Middleware<C> = MiddlewareFn<C> | MiddlewareObj<C>;

/** A handler failed: the error that was thrown (or the timeout), and the context it was handling. */
export class BotError<C = Context> extends HandlerError {
  override readonly name = 'BotError';

  constructor(
    readonly error: unknown,
    readonly ctx: C,
  ) {
    super(
      error instanceof ConnectBotError ? error.code : ErrorCode.HandlerFailed,
      error instanceof Error ? error.message : describeThrown(error),
      { cause: error },
    );
  }
}

const ITEM_KINDS: readonly ItemKind[] = [
  'message',
  'typing',
  'participant.joined',
  'participant.left',
  'chat.ended',
  'event',
];

const pass: MiddlewareFn<unknown> = (_ctx, next) => next();

function flatten<C>(middleware: Middleware<C>): MiddlewareFn<C> {
  return typeof middleware === 'function' ? middleware : (ctx, next) => middleware.middleware()(ctx, next);
}

/**
 * A promise already handled here, so that a caller who ignores it does not make it an unhandled rejection (which
 * stops the process): for refusals of a misused `next()`.
 */
function refused(message: string): Promise<void> {
  const promise = Promise.reject(new Error(message));
  promise.catch(() => {});
  return promise;
}

/** `next()` called twice: reported once the update is over; the downstream ran once. */
class NextMisuse extends Error {}

/** `next()` after the middleware finished. The update is over: nobody may be waiting on it, so the log says so too. */
function lateNext(ctx: unknown): Promise<void> {
  (ctx as { log?: Logger }).log?.warn(
    { event: 'late-next' },
    'next() called after the middleware finished: the rest of the chain does not run for this update',
  );
  return refused('next() called after the middleware finished');
}

/**
 * What `next()` returns: the downstream's outcome, and every link the middleware chained on it (`.then`,
 * `.catch`, `.finally`, an `await`). Not a native promise on purpose: V8 awaits a native promise without calling
 * its `then`, so an `await` could not be seen. Every link has its own rejection handled here, so a chain the
 * middleware drops is never an unhandled rejection (which would stop the process); concat waits for every link
 * and reports a failure nobody took charge of instead. A link's failure is the downstream's (for the first
 * link) or its own callback's; it is taken charge of by a rejection handler on that link or on any link chained
 * after it.
 */
class Downstream<T = undefined> implements PromiseLike<T> {
  /** What this link failed with itself: the downstream's failure, or one its callback threw. */
  failure: { reason: unknown } | undefined;
  /** A rejection handler was chained on this link or on a link after it. */
  taken = false;

  get [Symbol.toStringTag](): string {
    return 'Promise';
  }

  constructor(
    readonly promise: Promise<T>,
    /** Every link of the chain, the first one first. */
    readonly links: Array<Downstream<unknown>> = [],
    private readonly parent?: Downstream<unknown>,
  ) {
    links.push(this as Downstream<unknown>);
    promise.catch((reason: unknown) => {
      if (!parent) this.failure = { reason };
    });
  }

  // biome-ignore lint/suspicious/noThenProperty: it is a thenable on purpose (see above)
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    if (onRejected)
      for (let link: Downstream<unknown> | undefined = this; link; link = link.parent) link.taken = true;
    return this.chain((own) => this.promise.then(own(onFulfilled), own(onRejected)));
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.chain((own) => this.promise.finally(own(onFinally))) as Promise<T>;
  }

  /** A new link, whose callbacks' own failures (a throw, a rejected promise returned) are recorded on it. */
  private chain<R>(
    make: (
      own: <F extends ((...args: never[]) => unknown) | null | undefined>(callback: F) => F,
    ) => Promise<R>,
  ): Promise<R> {
    const mark: { failure?: { reason: unknown } } = {};
    const fail = (reason: unknown): never => {
      mark.failure = { reason };
      throw reason;
    };
    const own = <F extends ((...args: never[]) => unknown) | null | undefined>(callback: F): F =>
      (callback &&
        ((...args: never[]) => {
          let result: unknown;
          try {
            result = callback(...args);
          } catch (reason) {
            fail(reason);
          }
          return typeof (result as PromiseLike<unknown> | undefined)?.then === 'function'
            ? Promise.resolve(result).then(undefined, fail)
            : result;
        })) as F;
    const link = new Downstream(make(own), this.links, this as Downstream<unknown>);
    void link.promise.catch(() => {
      link.failure = mark.failure;
    });
    return link as unknown as Promise<R>;
  }
}

/** Waits until every link of a chain has settled, links added meanwhile included. */
async function settled(links: ReadonlyArray<Downstream<unknown>>): Promise<void> {
  for (let count = -1; count !== links.length; ) {
    count = links.length;
    await Promise.allSettled(links.map((link) => link.promise));
  }
}

/**
 * `first`, whose `next()` runs `andThen`. What `first` chained on `next()` belongs to this update even if `first`
 * did not await it: `first` is done only once all of it has settled, and a failure in it is reported here unless
 * `first` took charge of it (see {@link Downstream}). `next()` twice, or after `first` is done, is refused (and
 * reported).
 */
function concat<C>(first: MiddlewareFn<C>, andThen: MiddlewareFn<C>): MiddlewareFn<C> {
  return async (ctx, next) => {
    let downstream: Downstream | undefined;
    let finished = false;
    let misuse: Error | undefined;
    const callNext = (): Promise<void> => {
      if (finished) return lateNext(ctx);
      if (downstream) {
        misuse ??= new NextMisuse('next() called more than once');
        return refused('next() called more than once');
      }
      downstream = new Downstream(
        (async () => {
          await andThen(ctx, next);
          return undefined;
        })(),
      );
      return downstream as unknown as Promise<void>;
    };
    let failure: { reason: unknown } | undefined;
    try {
      await first(ctx, callNext);
    } catch (reason) {
      failure = { reason };
    }
    finished = true;
    // Returned (or threw) without waiting for what it started: the update is not over until that is.
    if (downstream) await settled(downstream.links);
    // What `first` threw, else a failure along what it chained that nobody took charge of.
    failure ??= downstream?.links.find((link) => link.failure && !link.taken)?.failure;
    if (failure) {
      // A misuse of next() beside a real failure is only logged.
      if (misuse) (ctx as { log?: Logger }).log?.warn({ event: 'next-misuse' }, misuse.message);
      throw failure.reason;
    }
    if (misuse) throw misuse;
  };
}

/** The end of every chain: what the last middleware's `next()` runs. */
const end: MiddlewareFn<unknown> = () => undefined;
const nothing = (): Promise<void> => Promise.resolve();

/**
 * Runs a middleware tree against a context. The last middleware's `next()` is a tracked one too (see concat), so
 * what it chains on it belongs to the update.
 */
export function run<C>(middleware: MiddlewareFn<C>, ctx: C): Promise<void> {
  return Promise.resolve(concat(middleware, end as MiddlewareFn<C>)(ctx, nothing)).then(() => undefined);
}

function matchText(trigger: string | RegExp, text: string): RegExpMatchArray | string | undefined {
  if (typeof trigger === 'string')
    return text.trim().toLowerCase() === trigger.toLowerCase() ? text : undefined;
  // exec, not match: with the g flag, match returns every match and no groups.
  trigger.lastIndex = 0;
  const match = trigger.exec(text) ?? undefined;
  trigger.lastIndex = 0;
  return match;
}

/**
 * A tree of `(ctx, next)` middleware, as in grammY. Every verb (`on`, `hears`, `filter`) is built on one
 * `filter → branch` primitive, and the filters narrow the context type.
 *
 * @example
 * const bot = new Composer<Context>();
 * bot.hears(/agent/i, (ctx) => ctx.handoff({ intent: 'agent' }));
 * bot.on('message', (ctx) => ctx.reply(`You said: ${ctx.text}`));
 */
export class Composer<C extends Context<unknown>> implements MiddlewareObj<C> {
  private handler: MiddlewareFn<C>;

  constructor(...middleware: Array<Middleware<C>>) {
    this.handler =
      middleware.length === 0
        ? (pass as MiddlewareFn<C>)
        : middleware.map(flatten).reduce((a, b) => concat(a, b));
  }

  middleware(): MiddlewareFn<C> {
    return this.handler;
  }

  /** Adds middleware that runs for every update. Returns a composer to chain more onto. */
  use(...middleware: Array<Middleware<C>>): Composer<C> {
    const composer = new Composer<C>(...middleware);
    this.handler = concat(this.handler, flatten(composer));
    return composer;
  }

  /** Runs `middleware` only for updates that pass `predicate`; a type guard narrows the context. */
  filter<D extends C>(predicate: (ctx: C) => ctx is D, ...middleware: Array<Middleware<D>>): Composer<D>;
  filter(predicate: (ctx: C) => boolean | Promise<boolean>, ...middleware: Array<Middleware<C>>): Composer<C>;
  filter(
    predicate: (ctx: C) => boolean | Promise<boolean>,
    ...middleware: Array<Middleware<C>>
  ): Composer<C> {
    const composer = new Composer<C>(...middleware);
    this.branch(predicate, composer, pass as MiddlewareFn<C>);
    return composer;
  }

  /** Routes each update to `whenTrue` or `whenFalse`. */
  branch(
    predicate: (ctx: C) => boolean | Promise<boolean>,
    whenTrue: Middleware<C>,
    whenFalse: Middleware<C>,
  ): this {
    const yes = flatten(whenTrue);
    const no = flatten(whenFalse);
    this.use(async (ctx, next) => ((await predicate(ctx)) ? yes(ctx, next) : no(ctx, next)));
    return this;
  }

  /**
   * Handles updates of one or more kinds: `message`, `typing`, `participant.joined`, `participant.left`,
   * `chat.ended`, `event`. Narrows the context (on `message`, `ctx.text` is a string).
   */
  on<K extends ItemKind>(
    kind: K | K[],
    ...middleware: Array<Middleware<KindContext<C, K>>>
  ): Composer<KindContext<C, K>> {
    const kinds: UpdateKind[] = Array.isArray(kind) ? kind : [kind];
    for (const hook of kinds.filter((k) => k === 'join' || k === 'end')) {
      throw new ConnectBotError(
        ErrorCode.InvalidArgument,
        `on('${hook}') would never run: use bot.${hook === 'join' ? 'onJoin' : 'onEnd'}()`,
      );
    }
    // A plugin in plain JavaScript has no type check: a misspelt kind would be a handler that never runs.
    for (const unknown of kinds.filter((k) => !ITEM_KINDS.includes(k as ItemKind))) {
      throw new ConnectBotError(
        ErrorCode.InvalidArgument,
        `on(${JSON.stringify(unknown)}): not a kind of update; one of ${ITEM_KINDS.map((k) => `'${k}'`).join(', ')}`,
      );
    }
    return this.filter((ctx): ctx is KindContext<C, K> => kinds.includes(ctx.kind), ...middleware);
  }

  /**
   * Handles messages whose text matches: a string matches the whole text, case-insensitively; a RegExp
   * matches anywhere. Sets `ctx.match`.
   */
  hears<T extends string | RegExp>(
    trigger: T | T[],
    ...middleware: Array<Middleware<HearsContext<C, T>>>
  ): Composer<HearsContext<C, T>> {
    const triggers: Array<string | RegExp> = Array.isArray(trigger) ? trigger : [trigger];
    return this.filter(
      (ctx): ctx is HearsContext<C, T> => {
        if (ctx.kind !== 'message') return false;
        for (const t of triggers) {
          const match = matchText(t, ctx.text ?? '');
          if (match !== undefined) {
            ctx.match = match;
            return true;
          }
        }
        return false;
      },
      ...middleware,
    );
  }

  /**
   * Catches errors thrown by `middleware`, before or after it calls `next()`, hands them to `handler`, and stops
   * them there. What comes after the boundary runs once `middleware` (or `handler`) has finished and called
   * `next()`, outside the boundary, as in grammY: its errors, and errors elsewhere, reach the bot's error handler.
   */
  errorBoundary(
    handler: (error: BotError<C>, next: NextFunction) => unknown,
    ...middleware: Array<Middleware<C>>
  ): Composer<C> {
    const composer = new Composer<C>(...middleware);
    const inner = flatten(composer);
    this.use(async (ctx, next) => {
      // The boundary's own `next()` (of its middleware, or of its handler) only records the call: what follows
      // the boundary runs after it, outside it. Through concat, as any `next()`: refused twice or late, and what
      // is chained on it belongs to the boundary.
      let nextCalled = false;
      const passOn: MiddlewareFn<C> = () => {
        nextCalled = true;
      };
      // A second next() is the middleware's misuse, reported after the update is passed on once, as anywhere.
      let misuse: NextMisuse | undefined;
      const passedOn = (error: unknown) => {
        if (!(error instanceof NextMisuse && nextCalled)) throw error;
        misuse = error;
      };
      try {
        await Promise.resolve(concat(inner, passOn)(ctx, nothing)).catch(passedOn);
      } catch (error) {
        nextCalled = false;
        const failure = new BotError(error, ctx);
        const handling = concat<C>((_ctx, handlerNext) => handler(failure, handlerNext), passOn);
        await Promise.resolve(handling(ctx, nothing)).catch(passedOn);
      }
      if (nextCalled) await next();
      if (misuse) throw misuse;
    });
    return composer;
  }
}
