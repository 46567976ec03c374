// What a middleware chains on a `next()` it does not await (`next().then(f)`) belongs to the update: it runs before
// the next update, and a throw in `f` goes to bot.catch (README "How the host runs bots"). Regressions: before,
// `f` escaped the handler (its error lost, or an unhandled rejection for the last middleware's and a boundary's
// `next()`), and its replies came after the next update's.
import { afterEach, describe, expect, it } from 'vitest';
import type { Bot, Context } from '../../src/index.js';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';
import { deferred } from '../support/deferred.js';
import { recordUnhandled, turns } from '../support/next-harness.js';

afterEach(closeAllTestChats);

/** Where the continuation is chained: `after` runs in `next().then(...)`; every update is answered `handle <text>`. */
const places: Record<string, (b: Bot, after: (ctx: Context) => unknown) => void> = {
  'a middleware before the handler': (b, after) => {
    b.use((ctx, next) => {
      void next().then(() => after(ctx));
    });
    b.on('message', (ctx) => ctx.reply(`handle ${ctx.text}`));
  },
  'the last middleware': (b, after) => {
    b.on('message', async (ctx, next) => {
      await ctx.reply(`handle ${ctx.text}`);
      void next().then(() => after(ctx));
    });
  },
};

for (const [place, chain] of Object.entries(places)) {
  describe(`next().then(f) in ${place}`, () => {
    it('a throw in f reaches bot.catch once per update, and nothing is unhandled', async () => {
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
            chain(b as unknown as Bot, () => {
              ran.resolve();
              throw new Error('continuation boom');
            });
          },
        });
        const chat = await testChat(bot);
        await chat.say('one');
        await chat.expectReply('handle one');
        await ran.wait(3000, 'the continuation never ran');
        await chat.say('two'); // a full turn later: any report of the first would have arrived
        await chat.expectReply('handle two');
        await turns();
        expect({ caught, unhandled: rec.reasons.map(String) }).toEqual({
          caught: ['continuation boom', 'continuation boom'],
          unhandled: [],
        });
      } finally {
        rec.stop();
      }
    }, 20_000);

    it('an async f runs before the next update: replies stay in order', async () => {
      const bot = defineBot({
        name: 'cont-order',
        displayName: 'Order',
        setup(b) {
          chain(b as unknown as Bot, async (ctx) => {
            await new Promise((resolve) => setTimeout(resolve, 200)); // some async work (a lookup, a log flush)
            await ctx.reply(`after ${ctx.text}`);
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
  });
}

it('a throw in next().then(f) inside an errorBoundary reaches the boundary, and nothing is unhandled', async () => {
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
