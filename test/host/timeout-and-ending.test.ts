import { afterEach, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';
import { deferred } from '../support/deferred.js';
import { chatWithBot, hostSetup } from '../support/host-harness.js';
import { waitUntil } from '../support/wait.js';

afterEach(closeAllTestChats);

it('bot.catch for a handler timeout runs in the chat queue: its apology is not overtaken by the next update', async () => {
  const bot = defineBot({
    name: 'apology',
    displayName: 'Apology',
    setup(bot) {
      bot.hears('slow', () => new Promise(() => {}));
      bot.hears('fast', (ctx) => ctx.reply('fast answer'));
      bot.catch(async (error) => {
        // An API call of its own before apologising: the next update waits for it.
        await error.ctx.typing();
        await error.ctx.reply('sorry, that took too long');
      });
    },
  });
  const chat = await testChat(bot, { handlerTimeoutMs: 200 });
  await chat.say('slow');
  await chat.say('fast');
  await chat.expectReply();
  await chat.expectReply();
  expect(chat.replies).toEqual(['sorry, that took too long', 'fast answer']);
});

it('an abandoned (timed-out) handler cannot act through ctx.successor()', async () => {
  const release = deferred<void>();
  const outcome = deferred<string>();
  const bot = defineBot({
    name: 'abandoned',
    displayName: 'Abandoned',
    setup(bot) {
      bot.hears('slow', async (ctx) => {
        await release.promise;
        try {
          await ctx.successor().reply('late reply from the abandoned handler');
          outcome.resolve('sent');
        } catch (error) {
          outcome.resolve(String((error as { code?: string }).code));
        }
      });
      bot.catch(() => {});
    },
  });
  const chat = await testChat(bot, { handlerTimeoutMs: 200 });
  await chat.say('slow');
  await waitUntil(() => chat.errors.some((e) => e.code === 'CB_HANDLER_TIMEOUT'), 'the timeout', 3000);
  release.resolve();
  expect(await outcome.wait(3000, 'abandoned handler')).toBe('CB_HANDLER_TIMEOUT');
  expect(chat.replies).toEqual([]);
});

it('the chat ending reaches the bot (README) even when the queue was at its cap', async () => {
  const gate = deferred<void>();
  const entered = deferred<void>();
  const seen: string[] = [];
  const ended = deferred<void>();
  const bot = defineBot({
    name: 'capped',
    displayName: 'Capped',
    setup(bot) {
      bot.use(async (ctx, next) => {
        seen.push(ctx.kind);
        await next();
      });
      bot.hears('block', async () => {
        entered.resolve();
        await gate.wait(5000, 'gate');
      });
      bot.onEnd(() => {
        seen.push('end');
        ended.resolve();
      });
      bot.catch(() => {});
    },
  });
  const setup = await hostSetup({ bots: [bot], host: { maxQueueDepth: 1 } });
  const chat = await chatWithBot(setup, { bot: 'capped' });
  setup.emulator.say(chat.contactId, 'block');
  await entered.wait(3000, 'handler');
  setup.emulator.say(chat.contactId, 'queued'); // fills the queue; skipped once the chat ended
  const received: string[] = [];
  setup.host.on('received', (_c, item) => received.push(item.ContentType ?? ''));
  try {
    setup.emulator.endChat(chat.contactId, 'customer');
    await waitUntil(() => received.some((c) => c.endsWith('chat.ended')), 'chat.ended to arrive', 3000);
    gate.resolve();
    await ended.wait(3000, 'onEnd');
    expect(seen).toEqual(['message', 'participant.left', 'chat.ended', 'end']);
  } finally {
    gate.resolve();
    await setup.host.stop();
  }
});
