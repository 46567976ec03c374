import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { TokenBucketLimiter } from '../connect/quotas.js';
import type { BotHost } from '../host/host.js';
import type { ChatClient } from '../session/client.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The host's Prometheus metrics (deployment-scale.md §5): a `bothost_` prefix, base units, `_total` counters,
 * and no per-contact labels. Fed by the host's, client's and limiter's events, so nothing is counted on a hot
 * path that is not already there.
 */
export class HostMetrics {
  readonly registry = new Registry();
  private readonly joins: Counter<'result'>;
  private readonly resumes: Counter<'result'>;
  private readonly reconnects: Counter<'reason'>;
  private readonly rotations: Counter;
  private readonly refreshes: Counter;
  private readonly received: Counter<'role'>;
  private readonly sent: Counter<'result'>;
  private readonly apiCalls: Counter<'operation' | 'outcome'>;
  private readonly throttles: Counter<'operation'>;
  private readonly handlerTimeouts: Counter<'bot'>;
  private readonly handlerErrors: Counter<'bot' | 'code'>;

  constructor(host: BotHost, client: ChatClient, limiter?: TokenBucketLimiter) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'bothost_chats_active',
      help: 'Chats held, by bot',
      labelNames: ['bot'],
      registers,
      collect() {
        this.reset();
        for (const chat of host.chats.values()) if (!chat.session.ended) this.inc({ bot: chat.botName });
      },
    });
    new Gauge({
      name: 'bothost_capacity_slots',
      help: 'Chats the host can still accept',
      registers,
      collect() {
        this.set(host.isAccepting ? host.freeSlots : 0);
      },
    });
    new Gauge({
      name: 'bothost_ws_connections',
      help: 'Chat websockets open now (two per chat for a moment during a rotation)',
      registers,
      collect() {
        let open = 0;
        for (const chat of host.chats.values()) open += chat.session.openSockets;
        this.set(open);
      },
    });
    new Gauge({
      name: 'bothost_queue_depth',
      help: 'Updates waiting in chat queues, all chats together',
      registers,
      collect() {
        let depth = 0;
        for (const chat of host.chats.values()) depth += chat.queueDepth;
        this.set(depth);
      },
    });
    new Gauge({
      name: 'bothost_handlers_running',
      help: 'Handlers running now, counting those abandoned after a timeout until they return',
      registers,
      collect() {
        this.set(host.handlersRunning);
      },
    });
    this.joins = new Counter({
      name: 'bothost_joins_total',
      help: 'Joins, by result',
      labelNames: ['result'],
      registers,
    });
    this.resumes = new Counter({
      name: 'bothost_resumes_total',
      help: 'Chats taken over from a keep shutdown (BotHost.resume), by result',
      labelNames: ['result'],
      registers,
    });
    const joinDuration = new Histogram({
      name: 'bothost_join_duration_seconds',
      help: 'Time from join request to a connected bot',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.reconnects = new Counter({
      name: 'bothost_ws_reconnects_total',
      help: 'Websocket reconnects, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.rotations = new Counter({
      name: 'bothost_ws_rotations_total',
      help: 'Make-before-break socket rotations',
      registers,
    });
    this.refreshes = new Counter({
      name: 'bothost_token_refreshes_total',
      help: 'ConnectionToken refreshes',
      registers,
    });
    this.received = new Counter({
      name: 'bothost_messages_received_total',
      help: 'Messages received from other participants, by role',
      labelNames: ['role'],
      registers,
    });
    this.sent = new Counter({
      name: 'bothost_messages_sent_total',
      help: 'Bot replies, once each: ok, or the error code they failed with after any retries',
      labelNames: ['result'],
      registers,
    });
    this.apiCalls = new Counter({
      name: 'bothost_connect_api_requests_total',
      help: 'Connect and Participant Service calls (each attempt), by operation and outcome',
      labelNames: ['operation', 'outcome'],
      registers,
    });
    const apiDuration = new Histogram({
      name: 'bothost_connect_api_duration_seconds',
      help: 'Duration of each API call attempt',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.throttles = new Counter({
      name: 'bothost_connect_throttled_total',
      help: 'Calls answered 429, by operation',
      labelNames: ['operation'],
      registers,
    });
    const quotaWait = new Histogram({
      name: 'bothost_ratelimit_wait_seconds',
      help: 'Time calls waited for a quota token, by bucket',
      labelNames: ['bucket'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const handlerDuration = new Histogram({
      name: 'bothost_handler_duration_seconds',
      help: 'Bot handler run time, by bot',
      labelNames: ['bot'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.handlerTimeouts = new Counter({
      name: 'bothost_handler_timeouts_total',
      help: 'Handlers abandoned after the handler timeout, by bot',
      labelNames: ['bot'],
      registers,
    });
    this.handlerErrors = new Counter({
      name: 'bothost_handler_errors_total',
      help: 'Handler failures, by bot and error code',
      labelNames: ['bot', 'code'],
      registers,
    });

    host.on('joined', (_chat, ms) => {
      this.joins.inc({ result: 'success' });
      joinDuration.observe(ms / 1000);
    });
    host.on('joinFailed', (_request, error) => this.joins.inc({ result: error.code }));
    host.on('resumed', () => this.resumes.inc({ result: 'success' }));
    host.on('resumeFailed', (_request, error) => this.resumes.inc({ result: error.code }));
    host.on('received', (_chat, item) => {
      if (item.Type === 'MESSAGE') this.received.inc({ role: item.ParticipantRole ?? 'UNKNOWN' });
    });
    host.on('handled', (chat, _kind, ms, timedOut) => {
      handlerDuration.observe({ bot: chat.botName }, ms / 1000);
      if (timedOut) this.handlerTimeouts.inc({ bot: chat.botName });
    });
    host.on('replied', (_chat, result) => this.sent.inc({ result }));
    host.on('handlerError', (chat, error) => this.handlerErrors.inc({ bot: chat.botName, code: error.code }));
    client.on('lifecycle', (_session, event, reason) => {
      if (event === 'reconnect') this.reconnects.inc({ reason: reason ?? 'unknown' });
      else if (event === 'rotate') this.rotations.inc();
      else this.refreshes.inc();
    });
    client.on('apiCall', (call) => {
      this.apiCalls.inc({ operation: call.operation, outcome: call.outcome });
      apiDuration.observe({ operation: call.operation }, call.durationMs / 1000);
      if (call.outcome === 'throttled') this.throttles.inc({ operation: call.operation });
    });
    limiter?.on('wait', (bucket, ms) => quotaWait.observe({ bucket }, ms / 1000));
  }

  /** The exposition text for `/metrics`. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
