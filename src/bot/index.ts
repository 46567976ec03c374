export { Bot, type BotDefinition, defineBot, type ErrorHandler } from './bot.js';
export {
  BotError,
  Composer,
  type Middleware,
  type MiddlewareFn,
  type MiddlewareObj,
  type NextFunction,
} from './composer.js';
export {
  type ChatActions,
  type ContactInfo,
  Context,
  type HearsContext,
  type HearsMatch,
  type ItemKind,
  type KindContext,
  type MessageContext,
  type ReplyOptions,
  type Sender,
  type UpdateKind,
} from './context.js';
