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

/**
 * What `next()` returns: the downstream's outcome, and whether the middleware took charge of its failure: a
 * rejection handler anywhere along what it chained on it (an `await` or a `return` of the chain's end, a
 * `.catch`, a `.then(f, h)`). Not a native promise on purpose: V8 awaits a native promise without calling its
 * `then`, so an `await` could not be seen. Every link has its own rejection handled here, so a chain the
 * middleware drops is never an unhandled rejection (which would stop the process); concat reports it instead.
 */
class Downstream<T = undefined> implements PromiseLike<T> {
  get [Symbol.toStringTag](): string {
    return 'Promise';
  }

  constructor(
    readonly promise: Promise<T>,
    /** Shared by every link of the chain. */
    readonly charge: { taken: boolean } = { taken: false },
  ) {
    promise.catch(() => {});
  }

  // biome-ignore lint/suspicious/noThenProperty: it is a thenable on purpose (see above)
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    if (onRejected) this.charge.taken = true;
    return new Downstream(this.promise.then(onFulfilled, onRejected), this.charge) as unknown as Promise<
      A | B
    >;
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T> {
    return new Downstream(this.promise.finally(onFinally), this.charge) as unknown as Promise<T>;
  }
}

/**
 * `first`, whose `next()` runs `andThen`. What `andThen` started belongs to this update even if `first` did not
 * await it: `first` is done only once it has settled, and its failure is reported here unless `first` took
 * charge of it (see {@link Downstream}). `next()` twice, or after `first` is done, is refused (and reported).
 */
function concat<C>(first: MiddlewareFn<C>, andThen: MiddlewareFn<C>): MiddlewareFn<C> {
  return async (ctx, next) => {
    let downstream: Downstream | undefined;
    let finished = false;
    let misuse: Error | undefined;
    const callNext = (): Promise<void> => {
      if (finished) {
        // The update is over: nobody may be waiting on this promise, so the log says it too.
        (ctx as { log?: Logger }).log?.warn(
          { event: 'late-next' },
          'next() called after the middleware finished: the rest of the chain does not run for this update',
        );
        return refused('next() called after the middleware finished');
      }
      if (downstream) {
        misuse ??= new Error('next() called more than once');
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
    try {
      await first(ctx, callNext);
    } finally {
      finished = true;
      // Returned (or threw) without waiting for what it started: the update is not over until that is.
      if (downstream) await downstream.promise.catch(() => {});
    }
    if (misuse) throw misuse;
    if (downstream && !downstream.charge.taken) await downstream.promise;
  };
}

/** Runs a middleware tree against a context. */
export function run<C>(middleware: MiddlewareFn<C>, ctx: C): Promise<void> {
  return Promise.resolve(middleware(ctx, () => Promise.resolve())).then(() => undefined);
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
      let nextCalled = false;
      const later = (): Promise<void> => {
        if (nextCalled) return refused('next() called more than once');
        nextCalled = true;
        return Promise.resolve();
      };
      try {
        await inner(ctx, later);
      } catch (error) {
        nextCalled = false;
        await handler(new BotError(error, ctx), later);
      }
      if (nextCalled) await next();
    });
    return composer;
  }
}
