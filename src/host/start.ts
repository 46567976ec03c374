import { rm } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import { TokenBucketLimiter } from '../connect/quotas.js';
import { ConnectBotError, ErrorCode } from '../errors.js';
import { HealthServer } from '../observability/health.js';
import type { Logger } from '../observability/log-types.js';
import { HostMetrics } from '../observability/metrics.js';
import { ChatClient } from '../session/client.js';
import { tuneV8ForHeldChats } from '../session/tuning.js';
import { BotHost, type KeptChat, type StopResult } from './host.js';
import { JoinServer } from './join-server.js';
import {
  checkKeptFileWritable,
  mergeKept,
  readKeptFile,
  removePartialKeptFiles,
  takeOverFile,
  writeKeptFile,
} from './kept-file.js';
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
  /** Of `notTaken`, those that failed (logged with their codes), not for lack of room or a stop. */
  failed: number;
  /**
   * Not taken over: no room (CB_NOT_ACCEPTING), the host stopped first (CB_SESSION_ENDED), or a failure (a bot
   * not loaded, the service unreachable). Written back with the chats kept at a `keep` shutdown, for the next
   * start to try again.
   */
  notTaken: KeptChat[];
}

/** After the host stopped, how long joins still being answered get before their connections are cut. */
const JOIN_ANSWER_GRACE_MS = 2000;

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
  const takingOver = keepFile ? takeOverFile(keepFile) : undefined;
  // Read before anything starts, removed once the host is up: a start that fails leaves them for the next. With
  // them, the chats a start that died while taking them over had left (its take-over file).
  const kept =
    keepFile && takingOver ? mergeKept(await readKeptFile(keepFile), await readKeptFile(takingOver)) : [];
  if (keepFile) await checkKeptFileWritable(keepFile); // any mode: a stop out of time writes its overdue chats
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
    ...(config.bots.default !== undefined ? { defaultBot: config.bots.default } : {}),
    handlerTimeoutMs: config.handlers.timeoutMs,
    maxQueueDepth: config.handlers.maxQueueDepth,
    concurrency: config.handlers.concurrency,
    maxChats: config.host.maxChats,
    joinTimeoutMs: config.join.timeoutMs,
    onShutdown: config.shutdown.onShutdown,
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    shutdownTimeoutMs: config.shutdown.timeoutMs,
    handoffAttributes: config.shutdown.handoffAttributes,
    logger,
  });
  const metrics = new HostMetrics(host, client, limiter);
  const health = config.metrics.enabled
    ? new HealthServer(host, metrics, { host: config.metrics.host, port: config.metrics.port })
    : undefined;
  const metricsUrl = await health?.listen().catch((error: unknown) => {
    limiter?.close();
    throw error;
  });
  const server = new JoinServer(host, {
    host: config.join.host,
    port: config.join.port,
    ...(config.join.secret ? { secret: config.join.secret } : {}),
    allowUnauthenticated: config.join.allowUnauthenticated,
    bodyLimitBytes: config.join.bodyLimitBytes,
    requestTimeoutMs: config.join.requestTimeoutMs,
    keepAliveTimeoutMs: config.join.keepAliveTimeoutMs,
    logger,
  });
  const joinUrl = await server.listen().catch(async (error: unknown) => {
    // Nothing of a start that fails stays open (an in-process caller, such as the playground, goes on).
    limiter?.close();
    await health?.close();
    throw error;
  });
  health?.markStarted();
  if (!config.join.secret)
    logger.warn({ event: 'insecure' }, 'the join endpoint accepts unauthenticated requests');
  if (config.shutdown.onShutdown === 'keep' && !keepFile)
    logger.warn(
      { event: 'keep-without-file' },
      'shutdown.onShutdown is keep but shutdown.keepFile is unset: no host can resume the kept chats',
    );
  logger.info({ event: 'start', joinUrl, metricsUrl, bots: bots.map((b) => b.name) }, 'bot host started');
  if (keepFile && takingOver && kept.length > 0) {
    // Left in place, the next start would take these chats over while this host holds them. Until they are
    // taken, they are in the take-over file instead: a start that dies meanwhile does not lose them.
    try {
      await writeKeptFile(takingOver, kept);
      await rm(keepFile, { force: true });
    } catch (error) {
      await server.close();
      limiter?.close();
      await health?.close();
      throw new ConnectBotError(
        ErrorCode.KeepFileInvalid,
        `cannot move the chats in ${keepFile} to ${takingOver}`,
        {
          cause: error,
        },
      );
    }
  }
  if (keepFile && takingOver) {
    const removed = (await removePartialKeptFiles(keepFile)) + (await removePartialKeptFiles(takingOver));
    if (removed > 0)
      logger.warn({ event: 'keep-partials-removed', count: removed }, 'removed half-written kept-chat files');
  }
  const takeover = takeOver(host, kept, logger);
  let stopping: Promise<void> | undefined;
  // Once the take-over is over, its file keeps only the chats it failed to take (for the next start to try).
  const takeOverDone =
    takingOver && kept.length > 0
      ? takeover.settled.then(async (summary) => {
          if (stopping) return; // the stop writes them back and removes the file
          await settleTakeOverFile(takingOver, summary.notTaken, logger);
        })
      : Promise.resolve();
  return {
    host,
    client,
    server,
    limiter,
    metrics,
    health,
    joinUrl,
    metricsUrl,
    resumed: takeover.settled,
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };

  async function stopAll(): Promise<void> {
    // The join endpoint stays up while the host drains: a join arriving meanwhile (the load balancer has not
    // taken the host out yet) is answered 503 CB_NOT_ACCEPTING, not refused at TCP.
    try {
      await keepChats(await host.stop());
      // The chats not taken over are in the keep file now (with `keep`), or let go: the next start must not
      // take them over from the take-over file too.
      await takeOverDone;
      if (takingOver && kept.length > 0) await settleTakeOverFile(takingOver, [], logger);
    } finally {
      // Even when the kept chats could not be written: the endpoints and the limiter's timers do not outlive it.
      await server.close(JOIN_ANSWER_GRACE_MS);
      limiter?.close();
      await health?.close();
    }
  }

  /** Writes the chats kept at a `keep` shutdown (and those never taken over) to `shutdown.keepFile`. */
  async function keepChats(result: StopResult): Promise<void> {
    // Once the host has stopped, a take-over still under way can no longer succeed (BotHost.resume): its chat
    // is written back now, not after the service answers.
    // (One taken over just before the stop may not have settled yet: it is kept as a held chat.)
    const held = new Set(result.kept.map((chat) => chat.snapshot.contactId));
    const notTaken = takeover.notTaken().filter((chat) => !held.has(chat.snapshot.contactId));
    // With `keep`, every chat; otherwise those the stop ran out of time to release (overdue), if there is a file.
    const keeping = result.mode === 'keep' ? [...result.kept, ...notTaken] : result.kept;
    if (keepFile && keeping.length > 0) await writeKeptFile(keepFile, keeping);
    else if (result.mode !== 'keep' && result.kept.length > 0)
      logger.warn(
        { event: 'overdue-chats-dropped', chats: result.kept.length },
        'chats not released in time stay with their bot until the flow gives up on it (no shutdown.keepFile)',
      );
    if (result.mode !== 'keep' && notTaken.length > 0)
      logger.warn(
        { event: 'kept-chats-dropped', chats: notTaken.length },
        'kept chats this host never took over are not kept again (shutdown.onShutdown is not keep)',
      );
  }
}

/** Rewrites the take-over file with `left`, or removes it when there are none; a failure is logged. */
async function settleTakeOverFile(path: string, left: KeptChat[], logger: Logger): Promise<void> {
  try {
    if (left.length > 0) await writeKeptFile(path, left);
    else await rm(path, { force: true });
  } catch (error) {
    logger.error({ event: 'take-over-file-failed', err: error }, `could not update ${path}`);
  }
}

/**
 * Takes over the chats a previous `keep` shutdown left, all at once (the rate limiter paces the calls).
 * `notTaken()`: the chats not taken over so far, those still under way among them.
 */
function takeOver(
  host: BotHost,
  kept: KeptChat[],
  logger: Logger,
): { settled: Promise<ResumeSummary>; notTaken(): KeptChat[] } {
  const summary: ResumeSummary = { resumed: 0, ended: 0, failed: 0, notTaken: [] };
  const underWay = new Set(kept);
  const settled = Promise.all(
    kept.map(async (chat) => {
      try {
        await host.resume(chat);
        summary.resumed++;
      } catch (error) {
        const code = error instanceof ConnectBotError ? error.code : undefined;
        if (code === ErrorCode.ChatEnded) {
          summary.ended++;
          return;
        }
        summary.notTaken.push(chat);
        // Once the host stops, whatever a take-over under way fails with (its quota wait cut short, its session
        // closed) is the stop, not a failure.
        const stopped = !host.isAccepting || code === ErrorCode.SessionEnded;
        if (!stopped && code !== ErrorCode.NotAccepting) {
          summary.failed++;
          logger.error(
            { event: 'resume-failed', contactId: chat.snapshot.contactId, err: error },
            'could not take over a kept chat; it is kept again at a keep shutdown',
          );
        }
      } finally {
        underWay.delete(chat);
      }
    }),
  ).then(() => {
    if (kept.length > 0) {
      const { notTaken, ...counts } = summary;
      logger.info({ event: 'resume-kept', ...counts, notTaken: notTaken.length }, 'kept chats taken over');
    }
    return summary;
  });
  return { settled, notTaken: () => [...summary.notTaken, ...underWay] };
}
