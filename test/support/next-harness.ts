import type { NextFunction } from '../../src/bot/composer.js';
import { defineBot } from '../../src/index.js';
import { testChat } from '../../src/testing/index.js';
import { deferred } from './deferred.js';

/** Records unhandled rejections while a test runs. */
export function recordUnhandled() {
  const reasons: unknown[] = [];
  const first = deferred<unknown>();
  const on = (reason: unknown) => {
    reasons.push(reason);
    first.resolve(reason);
  };
  process.on('unhandledRejection', on);
  return {
    reasons,
    first,
    stop: () => process.off('unhandledRejection', on),
  };
}

/** Lets Node's unhandled-rejection processing (after the microtask queue) run: two macrotask turns. */
export async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

// biome-ignore lint/suspicious/noExplicitAny: middleware under test, of any context type
type Use = (ctx: any, next: NextFunction) => unknown;

/**
 * A bot: `mw` in front, then a message handler that throws "downstream boom" (async), and a bot.catch that
 * records and replies "caught: ...". Also a `done` deferred the test can resolve from its middleware.
 */
export async function failingDownstream(mw: Use, name = 'r5') {
  const caught: string[] = [];
  const reportedOnce = deferred<void>();
  const bot = defineBot({
    name,
    displayName: name,
    setup(bot) {
      bot.use(mw as never);
      bot.on('message', async () => {
        await Promise.resolve();
        throw new Error('downstream boom');
      });
      bot.catch((error) => {
        caught.push(error.message);
        reportedOnce.resolve();
      });
    },
  });
  const chat = await testChat(bot);
  return { chat, caught, reportedOnce };
}
