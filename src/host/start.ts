import { rm } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import { TokenBucketLimiter } from '../connect/quotas.js';
import { ConnectBotError, ErrorCode } from '../errors.js';
import { HealthServer } from '../observability/health.js';
import type { Logger } from '../observability/log-types.js';
import { HostMetrics } from '../observability/metrics.js';
import { ChatClient } from '../session/client.js';
import { tuneV8ForHeldChats } from '../session/tuning.js';
import { BotHost, type KeptChat } from './host.js';
import { JoinServer } from './join-server.js';
import { readKeptFile, writeKeptFile } from './kept-file.js';
import { loadBots, type PreparedBot } from './registry.js';

export interface RunningHost {
  host: BotHost;
  client: ChatClient;
  server: JoinServer;
  limiter: TokenBucketLimiter | undefined;
  metrics: HostMetrics;
  /** The metrics and health server, when `metrics.enabled`. */
  health: HealthServer | undefined;
  joinUrl: string;
  /** Base URL of /metrics, /livez and /readyz, when `metrics.enabled`. */
  metricsUrl: string | undefined;
  /**
   * Settles once every chat read from `shutdown.keepFile` at start (a previous `keep` shutdown's) has been resumed
   * or given up on; at once when there were none.
   */
  resumed: Promise<ResumeSummary>;
  /** Graceful shutdown: stop joins, drain, apply `shutdown.onShutdown`, close the endpoint. */
  stop(): Promise<void>;
}

/** What became of the chats a previous `keep` shutdown left in `shutdown.keepFile`. */
export interface ResumeSummary {
  /** Taken over: this host runs them now. */
  resumed: number;
  /** Over while nobody held them (CB_CHAT_ENDED). */
  ended: number;
  /** Failed otherwise (logged with their codes). */
  failed: number;
  /**
   * Not taken because this host was full or stopping (CB_NOT_ACCEPTING, CB_SESSION_ENDED): written back with
   * the chats kept at a `keep` shutdown.
   */
  notTaken: KeptChat[];
}

/** Builds and starts everything `connect-bot start` runs, from a validated configuration. */
export async function startHost(
  config: Config,
  options: {
    logger: Logger;
    bots?: PreparedBot[];
    credentials?: ConstructorParameters<typeof ChatClient>[0]['credentials'];
  },
): Promise<RunningHost> {
  const { logger } = options;
  if (config.host.v8Tuning) tuneV8ForHeldChats();
  const bots = options.bots ?? (await loadBots(config.bots.dir, config.bots.enabled));
  const { keepFile } = config.shutdown;
  // Read before anything starts, removed once the host is up: a start that fails leaves them for the next.
  const kept = keepFile ? await readKeptFile(keepFile) : [];
  if (config.bots.default && !bots.some((bot) => bot.name === config.bots.default)) {
    throw new ConnectBotError(
      ErrorCode.ConfigInvalid,
      `invalid configuration:\n  - bots.default: no bot "${config.bots.default}" in ${config.bots.dir} (found: ${bots.map((bot) => bot.name).join(', ') || 'none'})`,
    );
  }
  const limiter = config.quotas.enabled
    ? new TokenBucketLimiter({
        rates: config.quotas.rates,
        throttlePauseMs: config.quotas.throttlePauseMs,
        maxThrottlePauseMs: config.quotas.maxThrottlePauseMs,
      })
    : undefined;
  const { dedupeWindow, ...timings } = config.session;
  const client = new ChatClient({
    region: config.aws.region,
    ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    requestTimeoutMs: config.aws.requestTimeoutMs,
    connectionTimeoutMs: config.aws.connectionTimeoutMs,
    maxSockets: config.aws.maxSockets,
    retry: { retries: config.aws.retries },
    timings,
    ...(dedupeWindow ? { dedupeWindow } : {}),
    ...(limiter ? { rateLimiter: limiter } : {}),
    logger,
  });
  const host = new BotHost({
    client,
    bots,
    ...(config.bots.default ? { defaultBot: config.bots.default } : {}),
    handlerTimeoutMs: config.handlers.timeoutMs,
    maxQueueDepth: config.handlers.maxQueueDepth,
    concurrency: config.handlers.concurrency,
    maxChats: config.host.maxChats,
    joinTimeoutMs: config.join.timeoutMs,
    onShutdown: config.shutdown.onShutdown,
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    handoffAttributes: config.shutdown.handoffAttributes,
    logger,
  });
  const metrics = new HostMetrics(host, client, limiter);
  const health = config.metrics.enabled
    ? new HealthServer(host, metrics, { host: config.metrics.host, port: config.metrics.port })
    : undefined;
  const metricsUrl = await health?.listen();
  const server = new JoinServer(host, {
    host: config.join.host,
    port: config.join.port,
    ...(config.join.secret ? { secret: config.join.secret } : {}),
    allowUnauthenticated: config.join.allowUnauthenticated,
    bodyLimitBytes: config.join.bodyLimitBytes,
    requestTimeoutMs: config.join.requestTimeoutMs,
    logger,
  });
  const joinUrl = await server.listen();
  health?.markStarted();
  if (!config.join.secret)
    logger.warn({ event: 'insecure' }, 'the join endpoint accepts unauthenticated requests');
  if (config.shutdown.onShutdown === 'keep' && !keepFile)
    logger.warn(
      { event: 'keep-without-file' },
      'shutdown.onShutdown is keep but shutdown.keepFile is unset: no host can resume the kept chats',
    );
  logger.info({ event: 'start', joinUrl, metricsUrl, bots: bots.map((b) => b.name) }, 'bot host started');
  if (keepFile && kept.length > 0) await rm(keepFile, { force: true });
  const resumed = resumeKept(host, kept, logger);
  let stopping: Promise<void> | undefined;
  return {
    host,
    client,
    server,
    limiter,
    metrics,
    health,
    joinUrl,
    metricsUrl,
    resumed,
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };

  async function stopAll(): Promise<void> {
    const closing = server.close();
    const result = await host.stop();
    const { notTaken } = await resumed;
    const keeping = result.mode === 'keep' ? [...result.kept, ...notTaken] : [];
    if (keepFile && keeping.length > 0) await writeKeptFile(keepFile, keeping);
    else if (notTaken.length > 0)
      logger.warn(
        { event: 'kept-chats-dropped', chats: notTaken.length },
        'kept chats this host never took over are not kept again (shutdown.onShutdown is not keep)',
      );
    limiter?.close();
    await closing;
    await health?.close();
  }
}

/** Takes over the chats a previous `keep` shutdown left, all at once (the rate limiter paces the calls). */
async function resumeKept(host: BotHost, kept: KeptChat[], logger: Logger): Promise<ResumeSummary> {
  const summary: ResumeSummary = { resumed: 0, ended: 0, failed: 0, notTaken: [] };
  if (kept.length === 0) return summary;
  await Promise.all(
    kept.map(async (chat) => {
      try {
        await host.resume(chat);
        summary.resumed++;
      } catch (error) {
        const code = error instanceof ConnectBotError ? error.code : undefined;
        if (code === ErrorCode.ChatEnded) summary.ended++;
        else if (code === ErrorCode.NotAccepting || code === ErrorCode.SessionEnded)
          summary.notTaken.push(chat);
        else {
          summary.failed++;
          logger.error(
            { event: 'resume-failed', contactId: chat.snapshot.contactId, err: error },
            'could not take over a kept chat',
          );
        }
      }
    }),
  );
  const { notTaken, ...counts } = summary;
  logger.info({ event: 'resume-kept', ...counts, notTaken: notTaken.length }, 'kept chats taken over');
  return summary;
}
