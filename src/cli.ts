import { parseArgs } from 'node:util';
import { loadConfig } from './config/load.js';
import { startEmulator } from './emulator/index.js';
import { ConnectBotError, ErrorCode } from './errors.js';
import { startHost } from './host/start.js';
import { createLogger, LOG_LEVELS, type LogLevel } from './observability/logger.js';
import { startPlayground } from './playground/index.js';

const USAGE = `Usage: connect-bot <command> [options]

Commands:
  start        Run the bot host (join endpoint + bots) against AWS or an endpoint from the config
               --config <file>          extra JSON config, applied after config/default.json and config/<env>.json
  join         Ask a running host to join a chat
               --contact-id <id>        (required)
               --instance-id <id>       default: $CONNECT_BOT_INSTANCE_ID
               --bot <name>             default: the host's default bot
               --attribute <k=v>        contact attribute passed to the bot (repeatable)
               --url <url>              join endpoint; default $CONNECT_BOT_JOIN_URL or http://127.0.0.1:8080/join
               --secret <s>             default: $CONNECT_BOT_JOIN_SECRET
               --timeout-ms <n>         give up waiting for the host's answer after this (default 10000)
  emulator     Run the local Amazon Connect chat emulator
               --port <n>               port on 127.0.0.1 (default 0: any free port)
               --on-chat-start <url>    POST the flow-Lambda event here when a chat starts
               --on-chat-start-secret <s>  sent as "Authorization: Bearer <s>" with that event
               --region <r>             region to report (default us-east-1)
  playground   The local stack without AWS: emulator + host with the bots in bots/ (what npm start runs)
               $CONNECT_BOT_PLAYGROUND_PORT  the page's port (default: any free port)
               $CONNECT_BOT_LOG_LEVEL        fatal, error, warn, info (default), debug, trace or silent
`;

class UsageError extends Error {}

/** Writes a line to stderr; stdout carries machine-readable lines. */
function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/**
 * Runs until SIGINT or SIGTERM, then calls `stop` and exits 0. A signal while it stops is only noted: the stop
 * goes on (a second Ctrl-C, or an orchestrator repeating SIGTERM, must not lose the chats being handed off or kept).
 */
function untilSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) {
      log(`${signal} received, still shutting down`);
      return;
    }
    stopping = true;
    log(`${signal} received, shutting down`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log(`shutdown failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

/** How long `connect-bot join` waits for the host's answer by default (it answers within its join timeout). */
const JOIN_REQUEST_TIMEOUT_MS = 10_000;

function isHttpUrl(url: string): boolean {
  return URL.canParse(url) && /^https?:$/.test(new URL(url).protocol);
}

function ready(details: Record<string, unknown>): void {
  process.stdout.write(`connect-bot ready ${JSON.stringify(details)}\n`);
}

async function emulatorCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '0' },
      'on-chat-start': { type: 'string' },
      'on-chat-start-secret': { type: 'string' },
      region: { type: 'string' },
    },
  });
  const port = /^\d{1,5}$/.test(values.port) ? Number(values.port) : Number.NaN;
  if (!(port <= 65535)) throw new UsageError(`invalid --port: ${values.port} (a port number, 0-65535)`);
  const url = values['on-chat-start'];
  if (url !== undefined && !isHttpUrl(url))
    throw new UsageError(`--on-chat-start must be an http(s) URL: ${url}`);
  const emulator = await startEmulator({
    port,
    region: values.region,
    onChatStart: url ? { url, secret: values['on-chat-start-secret'] } : undefined,
    log: (message) => log(`[emulator] ${message}`),
  });
  process.stdout.write(
    `${JSON.stringify({
      endpoint: emulator.endpoint,
      region: emulator.region,
      instanceId: emulator.instanceId,
      contactFlowId: emulator.contactFlowId,
    })}\n`,
  );
  log(`Emulator ready at ${emulator.endpoint}. Point both AWS SDK clients' "endpoint" at it;`);
  log(`start a chat with StartChatContact or POST ${emulator.endpoint}/_emulator/chats. Ctrl-C stops it.`);
  untilSignal(() => emulator.close());
}

async function startCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } } });
  // `--config "$FILE"` with FILE unset: refused, never run on the defaults instead.
  if (values.config === '') throw new UsageError('--config needs a file path');
  const config = await loadConfig(values.config !== undefined ? { file: values.config } : {});
  const logger = createLogger({
    level: config.log.level,
    ...(config.log.pretty !== undefined ? { pretty: config.log.pretty } : {}),
  });
  const running = await startHost(config, { logger });
  ready({ joinUrl: running.joinUrl, region: config.aws.region, bots: [...running.host.bots.keys()] });
  untilSignal(() => running.stop());
}

async function joinCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'contact-id': { type: 'string' },
      'instance-id': { type: 'string' },
      bot: { type: 'string' },
      attribute: { type: 'string', multiple: true },
      url: { type: 'string' },
      secret: { type: 'string' },
      'timeout-ms': { type: 'string', default: String(JOIN_REQUEST_TIMEOUT_MS) },
    },
  });
  const timeoutMs = /^\d{1,9}$/.test(values['timeout-ms']) ? Number(values['timeout-ms']) : 0;
  if (timeoutMs < 1)
    throw new UsageError(`invalid --timeout-ms: ${values['timeout-ms']} (a positive number)`);
  const contactId = values['contact-id'];
  // An environment variable set but empty (`docker run -e NAME`) counts as unset, as in the configuration.
  const instanceId = values['instance-id'] ?? (process.env.CONNECT_BOT_INSTANCE_ID || undefined);
  if (!contactId) throw new UsageError('--contact-id is required');
  if (!instanceId) throw new UsageError('--instance-id (or CONNECT_BOT_INSTANCE_ID) is required');
  const attributes: Record<string, string> = {};
  for (const pair of values.attribute ?? []) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--attribute must be key=value: ${pair}`);
    attributes[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const url = values.url ?? (process.env.CONNECT_BOT_JOIN_URL || 'http://127.0.0.1:8080/join');
  if (!isHttpUrl(url)) throw new UsageError(`--url (or CONNECT_BOT_JOIN_URL) must be an http(s) URL: ${url}`);
  const secret = values.secret ?? (process.env.CONNECT_BOT_JOIN_SECRET || undefined);
  let response: Response;
  let body: string;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(secret ? { authorization: `Bearer ${secret}` } : {}),
      },
      body: JSON.stringify({ instanceId, contactId, ...(values.bot ? { bot: values.bot } : {}), attributes }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    body = await response.text();
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (error as Error).name === 'TimeoutError'
        ? `timed out: no answer within ${timeoutMs} ms`
        : (cause?.code ?? cause?.message ?? (error as Error).message);
    log(`connect-bot: cannot reach ${url}: ${why}`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${body}\n`);
  if (!response.ok) process.exitCode = 1;
}

async function playgroundCommand(args: string[]): Promise<void> {
  parseArgs({ args, options: {} }); // it takes no options: anything given is a usage error
  const level = process.env.CONNECT_BOT_LOG_LEVEL || 'info'; // empty is unset, as in `start`'s configuration
  if (!LOG_LEVELS.includes(level as LogLevel)) {
    throw new ConnectBotError(
      ErrorCode.ConfigInvalid,
      `invalid configuration:\n  - CONNECT_BOT_LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(level)}`,
    );
  }
  const logger = createLogger({ level: level as LogLevel });
  const playground = await startPlayground({ logger });
  const { endpoint, playgroundUrl } = playground.ready;
  ready(playground.ready);
  log(`
connect-bot is running locally, no AWS account needed.

  Open the playground:  ${playgroundUrl}
  (chat as the customer with each example bot, watch the host, inject faults)

  Emulator:             ${endpoint}
  Join endpoint:        ${playground.ready.joinUrl}
  Metrics and health:   ${playground.ready.metricsUrl ?? '(disabled)'}/metrics, /livez, /readyz
  Bots:                 ${[...playground.stack.running.host.bots.keys()].join(', ')}

Or from a shell: start a chat (the simulated contact flow invites the bot named in "bot"),
  curl -s -X POST ${endpoint}/_emulator/chats -d '{"attributes":{"bot":"faq"}}'
talk as the customer, and read the chat and the flow's outcome:
  curl -s -X POST ${endpoint}/_emulator/contacts/<contactId>/messages -d '{"content":"shipping"}'
  curl -s ${endpoint}/_emulator/contacts/<contactId>/transcript
  curl -s ${endpoint}/_emulator/contacts/<contactId>
Ctrl-C stops everything.`);
  untilSignal(() => playground.stop());
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'emulator':
      return emulatorCommand(rest);
    case 'start':
      return startCommand(rest);
    case 'join':
      return joinCommand(rest);
    case 'playground':
      return playgroundCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

/**
 * What stopped the command, for an operator: a coded error as its code, message and cause; a system error (a port
 * in use, a missing file) as its message. A stack only where it points at code: an uncoded error (a bug), or a
 * coded one caused by code (a bot that throws as it loads).
 */
function describeFailure(error: unknown, seen = new Set<unknown>()): string {
  seen.add(error);
  if (error instanceof ConnectBotError) {
    const { cause } = error;
    // A cause met before (a chain that loops) is not followed again.
    return cause instanceof Error && !seen.has(cause)
      ? `${error.code}: ${error.message}\n  caused by: ${describeFailure(cause, seen)}`
      : `${error.code}: ${error.message}`;
  }
  if (!(error instanceof Error)) return String(error);
  return 'syscall' in error ? error.message : (error.stack ?? error.message);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    log(`connect-bot: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (error instanceof ConnectBotError && error.code === ErrorCode.ConfigInvalid) {
    log(`connect-bot: ${error.code}: ${error.message}`);
    process.exit(2);
  }
  log(`connect-bot: ${describeFailure(error)}`);
  process.exit(1);
});
