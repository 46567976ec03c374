import { ConnectBotError, ErrorCode } from '../errors.js';
import type { Logger } from '../observability/log-types.js';
import { PlaygroundServer } from './server.js';
import { type LocalStack, startLocalStack } from './stack.js';

export interface Playground {
  stack: LocalStack;
  server: PlaygroundServer;
  /** What `connect-bot ready` prints. */
  ready: LocalStack['ready'] & { playgroundUrl: string };
  stop(): Promise<void>;
}

/** The local stack plus the playground page: what `npm start` runs. */
export async function startPlayground(options: { logger: Logger; port?: number }): Promise<Playground> {
  const port = options.port ?? playgroundPort(process.env.CONNECT_BOT_PLAYGROUND_PORT);
  const stack = await startLocalStack({ logger: options.logger });
  const server = new PlaygroundServer(stack);
  let playgroundUrl: string;
  try {
    playgroundUrl = await server.listen(port);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return {
    stack,
    server,
    ready: { ...stack.ready, playgroundUrl },
    async stop() {
      await server.close();
      await stack.stop();
    },
  };
}

/** CONNECT_BOT_PLAYGROUND_PORT: unset is 0 (any free port); anything but a port number is CB_CONFIG_INVALID. */
function playgroundPort(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port <= 65535)) {
    throw new ConnectBotError(
      ErrorCode.ConfigInvalid,
      `invalid configuration:\n  - CONNECT_BOT_PLAYGROUND_PORT: must be a port number (0-65535), not ${JSON.stringify(value)}`,
    );
  }
  return port;
}
