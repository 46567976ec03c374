import { ConnectBotError, ErrorCode } from '../errors.js';
import { BotError, Composer, type Middleware, run } from './composer.js';
import type { Context, KindContext } from './context.js';

/** A plugin: what `bots/<name>/index.ts` (or `bots/<name>.ts`) default-exports. */
export interface BotDefinition<S extends object = Record<string, unknown>> {
  /** Unique name the host selects the bot by: lowercase letters, digits and `-`. */
  name: string;
  /** The name the customer sees in the chat (1–256 characters). */
  displayName: string;
  /**
   * Registers the bot's middleware, hooks and error handler. Runs once, when the bot loads: its middleware serves
   * every chat, so keep per-chat state in `ctx.session`, not in variables of `setup`. Synchronous.
   */
  setup(bot: Bot<S>): void;
  /** Initial per-chat state (`ctx.session`); a function, so every chat gets its own copy. */
  sessionDefaults?: () => S;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Declares a bot plugin.
 *
 * @example
 * export default defineBot({
 *   name: 'echo',
 *   displayName: 'Echo',
 *   setup(bot) {
 *     bot.onJoin((ctx) => ctx.reply('Hi! I repeat what you say.'));
 *     bot.on('message', (ctx) => ctx.reply(ctx.text));
 *   },
 * });
 */
export function defineBot<S extends object = Record<string, unknown>>(
  // A state type with required fields needs its defaults: without them `ctx.session` would start empty.
  // biome-ignore lint/complexity/noBannedTypes: `{}` is the type every state with only optional fields extends
  definition: BotDefinition<S> & ({} extends S ? unknown : { sessionDefaults: () => S }),
): BotDefinition<S> {
  checkBotDefinition(definition);
  return definition;
}

/** @internal The checks of {@link defineBot}, for a plugin that default-exports a plain object. */
export function checkBotDefinition(
  definition: Pick<BotDefinition, 'name' | 'displayName'> & { setup: unknown },
): void {
  if (!NAME.test(definition.name)) {
    throw new ConnectBotError(
      ErrorCode.BotLoadFailed,
      `bot name "${definition.name}" must be lowercase letters, digits and "-" (at most 64)`,
    );
  }
  if (definition.displayName.length < 1 || definition.displayName.length > 256) {
    throw new ConnectBotError(
      ErrorCode.BotLoadFailed,
      `bot "${definition.name}": displayName must be 1-256 characters`,
    );
  }
  if (typeof definition.setup !== 'function') {
    throw new ConnectBotError(ErrorCode.BotLoadFailed, `bot "${definition.name}": setup must be a function`);
  }
}

export type ErrorHandler<S> = (error: BotError<Context<S>>) => unknown;

/**
 * A bot: a {@link Composer} for updates, plus lifecycle hooks and an error handler. The host builds one per
 * plugin by calling its `setup`, and every chat the plugin runs in shares it.
 */
export class Bot<S = Record<string, unknown>> extends Composer<Context<S>> {
  private readonly joinHooks = new Composer<Context<S>>();
  private readonly endHooks = new Composer<Context<S>>();
  private errorHandler: ErrorHandler<S> = (error) => {
    error.ctx.log.error({ err: error, code: error.code }, 'bot handler failed');
  };

  constructor(readonly name: string) {
    super();
  }

  /** Runs when the bot has joined the chat (e.g. a greeting). Runs before any message is handled. */
  onJoin(...middleware: Array<Middleware<KindContext<Context<S>, 'join'>>>): this {
    this.joinHooks.use(...(middleware as Array<Middleware<Context<S>>>));
    return this;
  }

  /** Runs once the chat is over for the bot, whatever the reason (`ctx.item` is undefined; it can no longer reply). */
  onEnd(...middleware: Array<Middleware<KindContext<Context<S>, 'end'>>>): this {
    this.endHooks.use(...(middleware as Array<Middleware<Context<S>>>));
    return this;
  }

  /** Receives every error a handler throws and every handler timeout (`CB_HANDLER_TIMEOUT`). */
  catch(handler: ErrorHandler<S>): this {
    this.errorHandler = handler;
    return this;
  }

  /**
   * @internal Runs the right middleware for `ctx` and returns what it failed with, never throwing. Reporting the
   * failure to the error handler is the caller's (`report`): the host runs the error handler in the chat's turn
   * under its own time limit, not inside the handler's.
   */
  async handle(ctx: Context<S>): Promise<BotError<Context<S>> | undefined> {
    const tree = ctx.kind === 'join' ? this.joinHooks : ctx.kind === 'end' ? this.endHooks : this;
    try {
      await run(tree.middleware(), ctx);
      return undefined;
    } catch (error) {
      return new BotError(error, ctx);
    }
  }

  /** @internal Hands an error to the bot's error handler; an error handler that throws is logged. */
  async report(error: BotError<Context<S>>): Promise<void> {
    try {
      await this.errorHandler(error);
    } catch (failure) {
      error.ctx.log.error({ err: failure }, 'bot error handler failed');
    }
  }
}
