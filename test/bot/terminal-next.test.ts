// Regression (fixed): the `next()` the LAST middleware of a chain gets (run()'s terminal `() => Promise.resolve()`, and an
// errorBoundary's `later`) is a native promise, not a tracked Downstream. What a middleware chains on it is neither
// waited for nor reported, contradicting README "How the host runs bots" (new in cb56057): "what it chained on
// `next()` (`next().then(f)`), still counts toward the timeout and runs before the next update, and its errors (a
// throw in `f` too) go to `bot.catch`". A throw in `f` becomes an unhandled rejection (which stops a Node process
// that has no handler), and `f`'s replies run after the next update's.
import { afterEach, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';
import { deferred } from '../support/deferred.js';
import { recordUnhandled, turns } from '../support/next-harness.js';

afterEach(closeAllTestChats);

it('a throw in next().then(f) of the last middleware reaches bot.catch, not unhandledRejection', async () => {
  // Expected: caught = ['last boom'], unhandled = [] (README: "its errors (a throw in f too) go to bot.catch").
  // Before the fix: caught = [], unhandled = ['Error: last boom'].
  const rec = recordUnhandled();
  const caught: string[] = [];
  const ran = deferred<void>();
  try {
    const bot = defineBot({
      name: 'last-next',
      displayName: 'Last',
      setup(b) {
        b.catch((e) => {
          caught.push(e.message);
        });
        // The only (so last) middleware: a handler that logs once the (empty) rest of the chain is done.
        b.on('message', async (ctx, next) => {
          await ctx.reply('ok');
          void next().then(() => {
            ran.resolve();
            throw new Error('last boom');
          });
        });
      },
    });
    const chat = await testChat(bot);
    await chat.say('one');
    await chat.expectReply('ok');
    await ran.wait(3000, 'the continuation never ran');
    await chat.say('two');
    await chat.expectReply('ok');
    await turns();
    expect({ caught, unhandled: rec.reasons.map(String) }).toEqual({
      caught: ['last boom', 'last boom'],
      unhandled: [],
    });
  } finally {
    rec.stop();
  }
}, 20_000);

it('a throw in next().then(f) inside an errorBoundary reaches the boundary or bot.catch, not unhandledRejection', async () => {
  // Expected: the error is reported (boundary handler or bot.catch); Before the fix: unhandled rejection, nobody told.
  const rec = recordUnhandled();
  const caught: string[] = [];
  const ran = deferred<void>();
  try {
    const bot = defineBot({
      name: 'boundary-next',
      displayName: 'Boundary',
      setup(b) {
        b.catch((e) => {
          caught.push(`catch: ${e.message}`);
        });
        b.errorBoundary(
          // It passes the update on, so what follows the boundary still answers.
          (e, next) => {
            caught.push(`boundary: ${e.message}`);
            return next();
          },
          (_ctx, next) => {
            void next().then(() => {
              ran.resolve();
              throw new Error('boundary boom');
            });
          },
        );
        b.on('message', (ctx) => ctx.reply('ok'));
      },
    });
    const chat = await testChat(bot);
    await chat.say('one');
    await chat.expectReply('ok');
    await ran.wait(3000, 'the continuation never ran');
    await turns();
    expect(rec.reasons.map(String)).toEqual([]);
    expect(caught).toEqual(['boundary: boundary boom']);
  } finally {
    rec.stop();
  }
}, 20_000);

it('an async next().then(f) in the last middleware runs before the next update', async () => {
  // Expected (README "Ordered per chat"; "runs before the next update"): after one comes before handle two.
  // Before the fix: ['handle one', 'handle two', 'after one', ...]: the chat moved on while f still ran.
  const bot = defineBot({
    name: 'last-order',
    displayName: 'Order',
    setup(b) {
      b.on('message', async (ctx, next) => {
        await ctx.reply(`handle ${ctx.text}`);
        void next().then(async () => {
          await new Promise((resolve) => setTimeout(resolve, 200));
          await ctx.reply(`after ${ctx.text}`);
        });
      });
    },
  });
  const chat = await testChat(bot);
  await chat.say('one');
  await chat.expectReply('handle one');
  await chat.say('two');
  for (let i = 0; i < 3; i++) await chat.expectReply(undefined, { timeoutMs: 3000 });
  expect(chat.replies).toEqual(['handle one', 'after one', 'handle two', 'after two']);
}, 20_000);
