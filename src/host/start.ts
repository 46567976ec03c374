import { chmod, writeFile } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import { TokenBucketLimiter } from '../connect/quotas.js';
import { ConnectBotError, ErrorCode } from '../errors.js';
import { HealthServer } from '../observability/health.js';
import type { Logger } from '../observability/log-types.js';
import { HostMetrics } from '../observability/metrics.js';
import { ChatClient } from '../session/client.js';
import { tuneV8ForHeldChats } from '../session/tuning.js';
import { BotHost } from './host.js';
import { JoinServer } from './join-server.js';
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
  /** Graceful shutdown: stop joins, drain, apply `shutdown.onShutdown`, close the endpoint. */
  stop(): Promise<void>;
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
  logger.info({ event: 'start', joinUrl, metricsUrl, bots: bots.map((b) => b.name) }, 'bot host started');
  return {
    host,
    client,
    server,
    limiter,
    metrics,
    health,
    joinUrl,
    metricsUrl,
    async stop() {
      const closing = server.close();
      const result = await host.stop();
      if (result.mode === 'keep' && config.shutdown.keepFile && result.kept.length > 0) {
        await writeFile(config.shutdown.keepFile, JSON.stringify(result.kept), { mode: 0o600 });
        await chmod(config.shutdown.keepFile, 0o600);
      }
      limiter?.close();
      await closing;
      await health?.close();
    },
  };
}
