export * from './bot/index.js';
export {
  type ApiCallRecord,
  type CallOutcome,
  DEFAULT_RETRY,
  type RateLimiter,
  type RetryOptions,
} from './connect/caller.js';
export { type AwsClientOptions, type AwsClients, awsClients, destroyAwsClients } from './connect/clients.js';
export {
  DEFAULT_QUOTAS,
  type QuotaRate,
  quotaBucket,
  TokenBucketLimiter,
  type TokenBucketOptions,
} from './connect/quotas.js';
export {
  ApiRefusedError,
  ConnectBotError,
  ErrorCode,
  HandlerError,
  isRetryable,
  NetworkError,
} from './errors.js';
export type { HeldChat } from './host/chat.js';
export {
  BotHost,
  type BotHostEvents,
  type BotHostOptions,
  type JoinRequest,
  type JoinResult,
  type KeptChat,
  type ShutdownMode,
  type StopResult,
} from './host/host.js';
export { parseJoinRequest } from './host/join-request.js';
export { JoinServer, type JoinServerOptions } from './host/join-server.js';
export { type AnyBotDefinition, loadBots, type PreparedBot, prepareBot } from './host/registry.js';
export { replyClientToken } from './host/tokens.js';
export type { Logger } from './observability/log-types.js';
export {
  ChatClient,
  type ChatClientEvents,
  type ChatClientOptions,
  type JoinOptions,
} from './session/client.js';
export {
  type ChatItem,
  ContentType,
  isMessageContentType,
  isTranscriptItem,
  type MessageContentType,
} from './session/items.js';
export type { LatestEntry, TranscriptPosition } from './session/latest-items.js';
export {
  ChatSession,
  type ChatSessionEvents,
  type EndReason,
  type EventKind,
  type SendMessageOptions,
  type SessionSnapshot,
  type SessionState,
} from './session/session.js';
export { DEFAULT_SESSION_TIMINGS, type SessionTimings } from './session/timings.js';
export { tuneV8ForHeldChats } from './session/tuning.js';
export { Scheduler } from './transport/scheduler.js';
