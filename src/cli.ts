import { parseArgs } from 'node:util';
import { startEmulator } from './emulator/index.js';

const USAGE = `Usage: connect-bot <command> [options]

Commands:
  emulator   Run the local Amazon Connect chat emulator
             --port <n>               port on 127.0.0.1 (default 0: any free port)
             --on-chat-start <url>    POST the flow-Lambda event here when a chat starts
             --on-chat-start-secret <s>  sent as "Authorization: Bearer <s>" with that event
             --region <r>             region to report (default us-east-1)
`;

/** Writes a line to stderr: stdout carries only the machine-readable ready line. */
function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Runs until SIGINT or SIGTERM, then calls `stop` and exits 0. */
function untilSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
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
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
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
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`invalid --port: ${values.port}`);
  const url = values['on-chat-start'];
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

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'emulator':
      return emulatorCommand(rest);
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

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    log(`connect-bot: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  log(`connect-bot: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
