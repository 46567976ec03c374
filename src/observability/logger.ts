import pino from 'pino';
import type { Logger } from './log-types.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level?: LogLevel;
  /** Human-readable output (pino-pretty). Default: when stdout is a TTY and NODE_ENV is not production. */
  pretty?: boolean;
  /** Where JSON lines go (tests capture them). Default: stdout. */
  destination?: NodeJS.WritableStream;
  /** Bindings on every line, e.g. `{ service: 'connect-bot' }`. */
  base?: Record<string, unknown>;
}

export const REDACTED = '[redacted]';

/** Keys whose values are credentials or credential-bearing URLs, wherever they appear. */
const SECRET_KEY = /token|bearer|authorization|secret|password|credential|^url$|websocket|^x-amz-/i;
/**
 * Credential-bearing fragments inside free text: any ws(s) URL, whole (its query carries the connection's token,
 * and a URL cut short in a message may hide it elsewhere), an AuthToken, bearer headers.
 */
const SECRET_TEXT: Array<[RegExp, string]> = [
  [/wss?:\/\/[^\s"'<>]+/gi, REDACTED],
  [/(AuthToken=)[^&\s"'<>]+/gi, `$1${REDACTED}`],
  [/(x-amz-bearer["']?\s*[:=]\s*["']?)[^"'\s,}]+/gi, `$1${REDACTED}`],
  [/(Bearer\s+)[^\s"'<>,;]+/gi, `$1${REDACTED}`],
];

/** Removes credentials from free text. */
export function scrubText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_TEXT) out = out.replace(pattern, replacement);
  return out;
}

/**
 * Deep-copies a log payload with every credential removed: values under secret-looking keys are replaced,
 * strings are scrubbed of tokens and websocket URLs, and errors are flattened to safe fields (the SDK's raw
 * `$response` carries request headers, `x-amz-bearer` included, and is dropped).
 */
export function scrub(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value) || depth > 8) return '[…]';
  seen.add(value);
  if (value instanceof Error) {
    const e = value as Error & {
      code?: unknown;
      cause?: unknown;
      status?: unknown;
      awsCode?: unknown;
      operation?: unknown;
    };
    return {
      type: e.name,
      message: scrubText(e.message),
      ...(e.code !== undefined ? { code: e.code } : {}),
      ...(e.operation !== undefined ? { operation: e.operation } : {}),
      ...(e.status !== undefined ? { status: e.status } : {}),
      ...(e.awsCode !== undefined ? { awsCode: e.awsCode } : {}),
      ...(e.stack ? { stack: scrubText(e.stack) } : {}),
      ...(e.cause !== undefined ? { cause: scrub(e.cause, depth + 1, seen) } : {}),
    };
  }
  if (Array.isArray(value)) return value.map((entry) => scrub(entry, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (key === '$response' || key === '$request') continue;
    out[key] =
      SECRET_KEY.test(key) && entry !== undefined && entry !== null
        ? REDACTED
        : scrub(entry, depth + 1, seen);
  }
  return out;
}

/**
 * The process logger: JSON lines (pretty on a TTY in development), with credentials scrubbed from every
 * line, errors included. Per-chat loggers are children bound to `contactId`, `participantId` and `bot`.
 */
export function createLogger(options: LoggerOptions = {}): Logger & pino.Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && process.env.NODE_ENV !== 'production');
  const config: pino.LoggerOptions = {
    level: options.level ?? 'info',
    base: options.base ?? { service: 'connect-bot' },
    formatters: { log: (object) => scrub(object) as Record<string, unknown> },
    serializers: { err: (error: unknown) => scrub(error) },
    hooks: {
      // Messages are free text too.
      logMethod(args, method) {
        const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubText(arg) : arg)) as typeof args;
        // With an error and no message, pino would use the error's own message, unscrubbed.
        if (scrubbed.length === 1 && typeof scrubbed[0] === 'object' && scrubbed[0] !== null) {
          const first = scrubbed[0] as { err?: unknown };
          const error = first instanceof Error ? first : first.err;
          if (error instanceof Error) (scrubbed as unknown[]).push(scrubText(error.message));
        }
        method.apply(this, scrubbed);
      },
    },
  };
  const logger = options.destination
    ? pino(config, options.destination as pino.DestinationStream)
    : pino(
        pretty ? { ...config, transport: { target: 'pino-pretty', options: { colorize: true } } } : config,
      );
  // A child's bindings are fields of every line it writes, and pino writes them as they are: scrubbed here. Its
  // children inherit `child` from it (pino creates them with Object.create), so every generation is covered.
  const child = logger.child;
  logger.child = function (this: pino.Logger, bindings, childOptions) {
    return child.call(this, scrub(bindings) as pino.Bindings, childOptions);
  } as typeof logger.child;
  return logger;
}
