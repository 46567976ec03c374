// TSDoc / STYLE examples of the bot API, compiled and run as written, plus error-reporting contracts.
import { afterEach, expect, it } from 'vitest';
import { type BotError, Composer, type Context, defineBot } from '../../src/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';
import { deferred } from '../support/deferred.js';

afterEach(closeAllTestChats);

// Composer TSDoc example, as written.
const router = new Composer<Context>();
router.hears(/agent/i, (ctx) => ctx.handoff({ intent: 'agent' }));
router.on('message', (ctx) => ctx.reply(`You said: ${ctx.text}`));

it('a Composer from the TSDoc example mounts into a bot and works', async () => {
  const bot = defineBot({ name: 'mounted', displayName: 'Mounted', setup: (b) => void b.use(router) });
  const chat = await testChat(bot);
  await chat.say('hi');
  await chat.expectReply('You said: hi');
  await chat.say('agent');
  await chat.expectHandoff({ intent: 'agent' });
});

it('a thrown error reaches bot.catch exactly once, with the ctx the middleware saw', async () => {
  const calls: Array<BotError<Context>> = [];
  const done = deferred<void>();
  let seen: Context | undefined;
  const bot = defineBot({
    name: 'once',
    displayName: 'Once',
    setup(b) {
      b.catch((error) => {
        calls.push(error);
        done.resolve();
      });
      b.use(async (_ctx, next) => {
        await next();
      });
      b.on('message', (ctx) => {
        seen = ctx;
        throw new Error('boom');
      });
      b.on('message', (ctx) => ctx.reply('unreachable'));
    },
  });
  const chat = await testChat(bot);
  await chat.say('x');
  await done.wait(3000, 'bot.catch never called');
  await chat.expectNoReply(200);
  expect(calls).toHaveLength(1);
  expect(calls[0]!.ctx).toBe(seen);
  expect(calls[0]!.code).toBe('CB_HANDLER_FAILED');
  expect(chat.errors).toHaveLength(1);
});

it('next() called twice is reported, and downstream runs once', async () => {
  const done = deferred<string>();
  const bot = defineBot({
    name: 'twice',
    displayName: 'Twice',
    setup(b) {
      b.catch((error) => done.resolve(error.message));
      b.use(async (_ctx, next) => {
        await next();
        await next();
      });
      b.on('message', (ctx) => ctx.reply('once'));
    },
  });
  const chat = await testChat(bot);
  await chat.say('x');
  await chat.expectReply('once');
  expect(await done.wait(3000, 'double next() not reported')).toMatch(/more than once/);
  await chat.expectNoReply(200);
});

it('bot.catch can apologise to the customer after a handler timeout', async () => {
  const gate = deferred<void>();
  const bot = defineBot({
    name: 'sorry',
    displayName: 'Sorry',
    setup(b) {
      b.catch((error) => error.ctx.reply('Sorry, something went wrong.'));
      b.on('message', () => gate.promise);
    },
  });
  const chat = await testChat(bot, { handlerTimeoutMs: 200 });
  try {
    await chat.say('x');
    await chat.expectReply('Sorry, something went wrong.', { timeoutMs: 2000 });
  } finally {
    gate.resolve();
  }
});
