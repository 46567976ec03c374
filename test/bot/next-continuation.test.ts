// Regression (fixed): work a middleware chains on an un-awaited next() (`next().then(f)`) escapes the handler.
// composer.ts `Downstream` attaches `.catch(() => {})` to every link it creates, and `concat` only waits for / reports
// the root `downstream.promise`, never the links chained on it. The code comment on Downstream claims "a chain the
// middleware drops is never an unhandled rejection ...; concat reports it instead", and README "How the host runs
// bots" says a middleware that does not await next() "does not end its handler early: what it started still counts
// toward the timeout, and its errors go to bot.catch". Neither holds for the continuation.
import { afterEach, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';
import { deferred } from '../support/deferred.js';
import { recordUnhandled, turns } from '../support/next-harness.js';

afterEach(closeAllTestChats);

it('an error thrown in next().then(f) (not awaited) reaches bot.catch once per update', async () => {
  // Expected: bot.catch gets "continuation boom" (README: bot.catch "receives every error a handler throws").
  // Before the fix: caught = [] and unhandled = []: the error vanishes without a trace (not even a log line).
  const rec = recordUnhandled();
  const caught: string[] = [];
  const ran = deferred<void>();
  try {
    const bot = defineBot({
      name: 'cont',
      displayName: 'Cont',
      setup(b) {
        b.catch((e) => {
          caught.push(e.message);
        });
        b.use((_ctx, next) => {
          void next().then(() => {
            ran.resolve();
            throw new Error('continuation boom');
          });
        });
        b.on('message', (ctx) => ctx.reply('ok'));
      },
    });
    const chat = await testChat(bot);
    await chat.say('one');
    await chat.expectReply('ok');
    await ran.wait(3000, 'the continuation never ran');
    await chat.say('two'); // a full turn later: any report of the first would have arrived
    await chat.expectReply('ok');
    await turns();
    expect({ caught, unhandled: rec.reasons.map(String) }).toEqual({
      caught: ['continuation boom', 'continuation boom'], // one per update,
      unhandled: [],
    });
  } finally {
    rec.stop();
  }
}, 20_000);

it('an async next().then(f) continuation runs before the next update: replies stay in order', async () => {
  // Expected (README: "Ordered per chat"; "does not end its handler early: what it started still counts"):
  //   ['handle one', 'after one', 'handle two', 'after two'].
  // Before the fix: ['handle one', 'handle two', 'after one', 'after two']: the chat's queue moved on while the first
  // update's continuation was still running (and it is not covered by the handler timeout or revocation).
  const bot = defineBot({
    name: 'cont-order',
    displayName: 'Order',
    setup(b) {
      b.use((ctx, next) => {
        void next().then(async () => {
          await new Promise((resolve) => setTimeout(resolve, 200)); // some async work (a lookup, a log flush)
          await ctx.reply(`after ${ctx.text}`);
        });
      });
      b.on('message', (ctx) => ctx.reply(`handle ${ctx.text}`));
    },
  });
  const chat = await testChat(bot);
  await chat.say('one');
  await chat.expectReply('handle one');
  await chat.say('two');
  for (let i = 0; i < 3; i++) await chat.expectReply(undefined, { timeoutMs: 3000 });
  expect(chat.replies).toEqual(['handle one', 'after one', 'handle two', 'after two']);
}, 20_000);

it('a failure in a continuation the middleware caught later in its chain is not reported', async () => {
  const caught: string[] = [];
  const handled = deferred<void>();
  const bot = defineBot({
    name: 'cont-handled',
    displayName: 'Handled',
    setup(b) {
      b.catch((e) => {
        caught.push(e.message);
      });
      b.use((_ctx, next) => {
        void next()
          .then(() => {
            throw new Error('continuation boom');
          })
          .catch(() => handled.resolve());
      });
      b.on('message', (ctx) => ctx.reply(`handle ${ctx.text}`));
    },
  });
  const chat = await testChat(bot);
  await chat.say('one');
  await chat.expectReply('handle one');
  await handled.wait(3000, 'the catch never ran');
  await chat.say('two');
  await chat.expectReply('handle two');
  await turns();
  expect(caught).toEqual([]);
}, 20_000);
