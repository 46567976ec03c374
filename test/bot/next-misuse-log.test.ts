// README "How the host runs bots": "`next()` called twice, or after the middleware finished, is refused (the
// downstream runs once; the misuse goes to `bot.catch` once the update is over, or is only logged, as
// `next-misuse`, when a real failure of the same update is reported instead)."
//
// Expected: a middleware that calls next() twice and then throws has its own failure reported to bot.catch, and
// the misuse beside it logged as `next-misuse` (bound to the chat: contactId, participantId, bot).
// Before the fix: the misuse vanishes: no `next-misuse` line (nor any warn), and bot.catch only sees the throw. In
// src/bot/composer.ts concat(), `await first(ctx, callNext)` throws out of the try/finally, so the code after it
// that logs `next-misuse` (or throws the misuse) never runs. Only the case "downstream link failed" logs it.
import { describe, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { deferred } from '../support/deferred.js';
import { chatWithBot, hostSetup } from '../support/host-harness.js';
import { LogCapture } from '../support/running-host.js';

describe('next-misuse when the middleware itself throws', () => {
  it('a middleware that calls next() twice and then throws: its failure goes to bot.catch and the misuse is logged as next-misuse', async () => {
    const logs = new LogCapture();
    const caught = deferred<string>();
    const bot = defineBot({
      name: 'twice-then-throw',
      displayName: 'Twice',
      setup(b) {
        b.use(async (_ctx, next) => {
          await next();
          await next().catch(() => {}); // refused: the misuse
          throw new Error('middleware failed'); // the real failure of the update
        });
        b.on('message', () => undefined);
        b.catch((error) => caught.resolve(error.message));
      },
    });
    const setup = await hostSetup({
      bots: [bot],
      host: { logger: createLogger({ level: 'debug', destination: logs, pretty: false }) },
    });
    const chat = await chatWithBot(setup);
    setup.emulator.say(chat.contactId, 'hi');
    // The misuse would be logged (synchronously) before the failure is thrown, so it is there once bot.catch runs.
    expect(await caught.wait(5000, 'bot.catch')).toBe('middleware failed');
    const misuse = logs.events().find((line) => line.event === 'next-misuse');
    expect(misuse).toMatchObject({ contactId: chat.contactId, bot: 'twice-then-throw' }); // actual: undefined
  }, 20_000);
});
