import { z } from 'zod';
import { attributesProblem } from '../connect/attributes.js';
import { DEFAULT_QUOTAS } from '../connect/quotas.js';
import { LOG_LEVELS } from '../observability/logger.js';
import { MIN_DEDUPE_WINDOW } from '../session/recent-ids.js';
import { timerMs as ms, sessionTimingsSchema } from '../session/timings.js';

/** The buckets `quotas.rates` may override. */
export const QUOTA_BUCKETS: readonly string[] = Object.keys(DEFAULT_QUOTAS);

const positiveInt = z.number().int().positive();
const rate = z
  .object({
    rate: z.number().positive(),
    burst: z.number().min(1, 'must be at least 1 (a bucket holding less than one token never grants a call)'),
  })
  .strict();
const rates = z.record(z.string(), rate).superRefine((value, ctx) => {
  for (const name of Object.keys(value)) {
    if (!QUOTA_BUCKETS.includes(name)) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        input: value[name],
        message: `unknown quota bucket; use one of ${QUOTA_BUCKETS.join(', ')}`,
      });
    }
  }
});

/**
 * The configuration of `connect-bot start`. Every key is documented in the README ("Configuration"); layers
 * are merged in this order: defaults, `config/default.json`, `config/<env>.json`, `--config <file>`,
 * environment variables.
 */
export const configSchema = z
  .object({
    aws: z
      .object({
        /** Region of the Connect instance. */
        region: z.string().min(1).default('us-east-1'),
        /** Endpoint override for both Connect services (the local emulator). Unset: real AWS. */
        endpoint: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
        requestTimeoutMs: ms.default(10_000),
        connectionTimeoutMs: ms.default(3000),
        maxSockets: positiveInt.default(50),
        /** Retries of throttled, 5xx and network-failed calls. */
        retries: z.number().int().min(0).max(20).default(4),
      })
      .strict()
      .prefault({}),
    bots: z
      .object({
        /** Folder with bot plugins (`<name>/index.ts` or `<name>.ts`). */
        dir: z.string().min(1).default('bots'),
        /** Load only these bots. Default: every bot in `dir`. */
        enabled: z.array(z.string().min(1)).min(1).optional(),
        /** Bot for joins that name none; `null` for none (joins must then name their bot). */
        default: z.string().min(1).nullable().optional(),
      })
      .strict()
      .refine((bots) => !bots.default || !bots.enabled || bots.enabled.includes(bots.default), {
        message: 'must be one of bots.enabled (or null: joins name their bot)',
        path: ['default'],
      })
      .prefault({}),
    join: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        /**
         * Shared secret callers send as `Authorization: Bearer <secret>`. At least 16 characters, visible ASCII
         * only: HTTP clients strip a header's surrounding whitespace (a secret file's trailing newline) and
         * cannot send other characters, so such a secret could never match.
         */
        secret: z
          .string()
          .min(16, 'must be at least 16 characters')
          .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII characters only (no spaces or newlines)')
          .optional(),
        /** Accept joins without a secret. Local development only. */
        allowUnauthenticated: z.boolean().default(false),
        bodyLimitBytes: positiveInt.default(64 * 1024),
        /** A request whose headers and body are not all in after this long is answered 408. */
        requestTimeoutMs: ms.default(10_000),
        /**
         * An idle keep-alive connection is closed after this long. Longer than a load balancer's idle timeout
         * (an ALB's is 60 s by default), or it may send a request on a connection being closed and answer 502.
         */
        keepAliveTimeoutMs: ms.default(65_000),
        /** A join must complete within this (the flow's Lambda block allows at most 8 s). */
        timeoutMs: ms.max(7500).default(6000),
      })
      .strict()
      .prefault({}),
    handlers: z
      .object({
        timeoutMs: ms.default(30_000),
        maxQueueDepth: positiveInt.default(100),
        concurrency: positiveInt.default(500),
      })
      .strict()
      .prefault({}),
    host: z
      .object({
        /** Chats held at once; beyond it joins are refused and /readyz reports 503. */
        maxChats: positiveInt.default(5000),
        /** V8 settings for many held chats at start (tuneV8ForHeldChats): less GC per inbound message, more peak heap. */
        v8Tuning: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    quotas: z
      .object({
        enabled: z.boolean().default(true),
        /** Per-bucket overrides of Connect's default quotas, e.g. `{ "SendMessageOrEvent": { "rate": 20, "burst": 30 } }`. */
        rates: rates.default({}),
        throttlePauseMs: ms.default(1000),
        maxThrottlePauseMs: ms.default(30_000),
      })
      .strict()
      .prefault({}),
    session: sessionTimingsSchema
      .extend({ dedupeWindow: z.number().int().min(MIN_DEDUPE_WINDOW) })
      .partial()
      .strict()
      .prefault({}),
    shutdown: z
      .object({
        onShutdown: z.enum(['handoff', 'leave', 'keep']).default('handoff'),
        drainTimeoutMs: ms.default(10_000),
        /** The whole stop: drain, releasing the chats, joins under way. Chats not released by then are let go. */
        timeoutMs: ms.default(25_000),
        handoffAttributes: z
          .record(z.string(), z.string())
          .superRefine((attributes, ctx) => {
            const problem = attributesProblem(attributes);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          })
          .default({ botShutdown: 'true' }),
        /**
         * With `keep` (and, in any mode, for chats a stop ran out of time for): the kept chats (their snapshots carry
         * secrets) are written to this file, mode 0600, and the
         * next start takes them over from it.
         */
        keepFile: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(LOG_LEVELS).default('info'),
        /** Pretty output. Default: on a TTY outside production. */
        pretty: z.boolean().optional(),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(9464),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
