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
  const stack = await startLocalStack({ logger: options.logger });
  const server = new PlaygroundServer(stack);
  let playgroundUrl: string;
  try {
    playgroundUrl = await server.listen(options.port ?? Number(process.env.CONNECT_BOT_PLAYGROUND_PORT ?? 0));
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
