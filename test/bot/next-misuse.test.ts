import { afterEach, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';
import { deferred } from '../support/deferred.js';
import { chatWithBot, hostSetup } from '../support/host-harness.js';
import { LogCapture } from '../support/running-host.js';
import { waitUntil } from '../support/wait.js';

afterEach(closeAllTestChats);

it('a middleware that handles the downstream failure with next().catch() (not awaited) does not see it re-thrown to bot.catch', async () => {
  const caught = deferred<void>();
  const bot = defineBot({
    name: 'fire-and-forget',
    displayName: 'FAF',
    setup(bot) {
      bot.use((_ctx, next) => {
        // handled here: the failure is this middleware's business, not bot.catch's
        next().catch(() => {
          caught.resolve();
        });
      });
      bot.on('message', async () => {
        await Promise.resolve();
        throw new Error('downstream boom');
      });
      bot.catch((error) => error.ctx.reply(`catch: ${error.message}`));
    },
  });
  const chat = await testChat(bot);
  await chat.say('hi');
  await caught.wait(3000, 'the middleware never saw the failure');
  // bot.catch must not get the error a middleware already handled
  await chat.expectNoReply(500);
  expect(chat.errors.map((e) => e.message)).toEqual([]);
});

it('next() called twice without awaiting does not leave an unhandled rejection (which would crash the host process)', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const bot = defineBot({
      name: 'twice',
      displayName: 'Twice',
      setup(bot) {
        bot.use((_ctx, next) => {
          void next();
          void next();
        });
        bot.on('message', (ctx) => ctx.reply('once'));
      },
    });
    const chat = await testChat(bot);
    await chat.say('hi');
    await chat.expectReply('once');
    await chat.expectNoReply(300);
    expect(unhandled.map(String)).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

it('a middleware that starts next() and then throws does not let its downstream run on past the handler (updates stay ordered)', async () => {
  const gate = deferred<void>();
  const entered = deferred<void>();
  const bot = defineBot({
    name: 'throw-after-next',
    displayName: 'TAN',
    setup(bot) {
      bot.use((ctx, next) => {
        if (ctx.text === 'one') {
          void next();
          throw new Error('middleware failed after starting next');
        }
        return next();
      });
      bot.hears('one', async (ctx) => {
        entered.resolve();
        // Ordered per chat: "two" cannot be handled before this finishes; the wait's timeout is the fallback
        await gate.wait(1500, 'gate').catch(() => {});
        await ctx.reply('one done');
      });
      bot.hears('two', async (ctx) => {
        await ctx.reply('two');
        gate.resolve();
      });
      bot.catch(() => {});
    },
  });
  const chat = await testChat(bot);
  await chat.say('one');
  await entered.wait(3000, 'downstream of one never started');
  await chat.say('two');
  await chat.expectReply();
  await chat.expectReply();
  expect(chat.replies).toEqual(['one done', 'two']);
});

it('a next() called late (after the middleware returned) is refused, and the downstream does not run', async () => {
  let downstreamRan = false;
  const bot = defineBot({
    name: 'late-next',
    displayName: 'Late',
    setup(bot) {
      bot.use((ctx, next) => {
        setImmediate(() => {
          next().catch((error: Error) => ctx.reply(`refused: ${error.message}`));
        });
      });
      bot.on('message', () => {
        downstreamRan = true;
      });
    },
  });
  const chat = await testChat(bot);
  await chat.say('hi');
  await chat.expectReply('refused: next() called after the middleware finished');
  expect(downstreamRan).toBe(false);
});

it('errorBoundary: a middleware inside it that calls next() twice is refused, as everywhere else', async () => {
  const bot = defineBot({
    name: 'twice-boundary',
    displayName: 'TB',
    setup(bot) {
      bot.errorBoundary(
        (error) => error.ctx.reply(`boundary: ${error.message}`),
        async (_ctx, next) => {
          await next();
          await next();
        },
      );
      bot.on('message', (ctx) => ctx.reply('after'));
    },
  });
  const chat = await testChat(bot);
  await chat.say('hi');
  await chat.expectReply('boundary: next() called more than once');
});

it('a middleware that awaits next() and catches its failure does not see it re-thrown to bot.catch', async () => {
  const reported: string[] = [];
  const bot = defineBot({
    name: 'awaited-catch',
    displayName: 'Awaited',
    setup(bot) {
      bot.use(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          await ctx.reply(`handled: ${(error as Error).message}`);
        }
      });
      bot.on('message', () => {
        throw new Error('downstream failed');
      });
      bot.catch((error) => {
        reported.push(error.message);
      });
    },
  });
  const chat = await testChat(bot);
  await chat.say('hi');
  await chat.expectReply('handled: downstream failed');
  await chat.say('again');
  await chat.expectReply('handled: downstream failed');
  expect(reported).toEqual([]);
});

it('a synchronous middleware that calls next() without returning it: the downstream failure reaches bot.catch', async () => {
  const bot = defineBot({
    name: 'sync-next',
    displayName: 'Sync',
    setup(bot) {
      bot.use((_ctx, next) => {
        next();
      });
      bot.on('message', () => {
        throw new Error('downstream failed');
      });
      bot.catch((error) => error.ctx.reply(`caught: ${error.message}`));
    },
  });
  const chat = await testChat(bot);
  await chat.say('hi');
  await chat.expectReply('caught: downstream failed');
});

it('a late next() that nobody awaits is in the log: the rest of the chain did not run', async () => {
  const logs = new LogCapture();
  const bot = defineBot({
    name: 'late-unawaited',
    displayName: 'Late',
    setup(bot) {
      bot.use((_ctx, next) => {
        setImmediate(() => void next());
      });
      bot.on('message', (ctx) => ctx.reply('never'));
    },
  });
  const setup = await hostSetup({
    bots: [bot],
    host: { logger: createLogger({ level: 'warn', destination: logs, pretty: false }) },
  });
  const chat = await chatWithBot(setup);
  setup.emulator.say(chat.contactId, 'hi');
  await waitUntil(() => logs.events().some((line) => line.event === 'late-next'), 'the late-next warning');
  expect(logs.events().find((line) => line.event === 'late-next')).toMatchObject({
    contactId: chat.contactId,
    bot: 'late-unawaited',
  });
});
