import { afterEach, describe, expect, it } from 'vitest';
import { type BotError, type Context, defineBot } from '../../src/index.js';
import { closeAllTestChats, ExpectationError, testChat } from '../../src/testing/index.js';
import { deferred } from '../support/deferred.js';

afterEach(closeAllTestChats);

describe('errorBoundary', () => {
  it('catches an error its own middleware throws after calling next(); what follows the boundary runs when the handler calls next() (as in grammY)', async () => {
    const boundary = deferred<BotError<Context>>();
    const caught = deferred<BotError<Context>>();
    const bot = defineBot({
      name: 'eb',
      displayName: 'EB',
      setup(bot) {
        bot.catch((error) => caught.resolve(error));
        bot.errorBoundary(
          async (error, next) => {
            boundary.resolve(error);
            await next();
          },
          async (_ctx, next) => {
            await next(); // downstream of the boundary runs once this middleware is done
            throw new Error('audit failed'); // the boundary's own middleware fails afterwards
          },
        );
        bot.on('message', (ctx) => ctx.reply('ok'));
      },
    });
    const chat = await testChat(bot);
    await chat.say('hi');
    await chat.expectReply('ok');
    const first = await Promise.race([
      boundary
        .wait(2000, 'boundary handler never called')
        .then((e) => `boundary: ${(e.error as Error).message}`),
      caught.promise.then((e) => `bot.catch: ${(e.error as Error).message}`),
    ]);
    expect(first).toBe('boundary: audit failed');
  });
});

describe('next() misuse', () => {
  it('a middleware that does not await next() still has its downstream covered by the handler timeout', async () => {
    const caught = deferred<BotError<Context>>();
    const gate = deferred<void>();
    const bot = defineBot({
      name: 'floating',
      displayName: 'Floating',
      setup(bot) {
        bot.catch((error) => caught.resolve(error));
        bot.use((_ctx, next) => {
          void next(); // forgot to await/return next()
        });
        bot.on('message', async (ctx) => {
          await gate.promise;
          await ctx.reply('late');
        });
      },
    });
    const chat = await testChat(bot, { handlerTimeoutMs: 200 });
    try {
      await chat.say('hi');
      const error = await caught.wait(3000, 'CB_HANDLER_TIMEOUT never reached bot.catch');
      expect(error.code).toBe('CB_HANDLER_TIMEOUT');
    } finally {
      gate.resolve();
    }
    // And the abandoned handler's late reply must not be posted.
    await chat.expectNoReply(300);
  });
});

describe('ctx verbs reject, never throw synchronously', () => {
  it('markRead() on a non-message update returns a rejected promise (so `.catch()` handles it)', async () => {
    const result = deferred<string>();
    const bot = defineBot({
      name: 'mr',
      displayName: 'MR',
      setup(bot) {
        bot.catch((error) => result.resolve(`bot.catch: ${error.code}`));
        bot.onJoin((ctx) => {
          // Fire-and-forget with a local catch: the common pattern for receipts and typing.
          ctx.markRead().catch((error: { code?: string }) => result.resolve(`local catch: ${error.code}`));
          return ctx.reply('joined');
        });
      },
    });
    const chat = await testChat(bot);
    expect(await result.wait(3000, 'neither catch ran')).toBe('local catch: CB_INVALID_ARGUMENT');
    await chat.close();
  });
});

describe('hears', () => {
  it('a /g RegExp still exposes capture groups in ctx.match (grammY uses exec)', async () => {
    const bot = defineBot({
      name: 'hg',
      displayName: 'HG',
      setup(bot) {
        bot.hears(/order (\d+)/gi, (ctx) => ctx.reply(`order=${ctx.match[1]}`));
      },
    });
    const chat = await testChat(bot);
    await chat.say('order 42');
    await chat.expectReply('order=42');
  });
});

describe('lifecycle updates', () => {
  it("bot.on('chat.ended') runs when the chat ends (README lists it as a kind)", async () => {
    const seen = deferred<string>();
    const bot = defineBot({
      name: 'ce',
      displayName: 'CE',
      setup(bot) {
        bot.on('chat.ended', (ctx) => seen.resolve(ctx.kind));
      },
    });
    const chat = await testChat(bot);
    chat.emulator.endChat(chat.contactId, 'system');
    expect(await seen.wait(3000, "on('chat.ended') never ran")).toBe('chat.ended');
  });

  it("bot.on('participant.left') runs when the customer leaves", async () => {
    const seen = deferred<string>();
    const bot = defineBot({
      name: 'pl',
      displayName: 'PL',
      setup(bot) {
        bot.on('participant.left', (ctx) => seen.resolve(ctx.from?.role ?? '?'));
      },
    });
    const chat = await testChat(bot);
    await chat.leave();
    expect(await seen.wait(3000, "on('participant.left') never ran")).toBe('CUSTOMER');
  });
});

describe('after the end', () => {
  it('ctx.reply after ctx.handoff() in the same handler fails fast with a code', async () => {
    const result = deferred<string>();
    const bot = defineBot({
      name: 'ah',
      displayName: 'AH',
      setup(bot) {
        bot.on('message', async (ctx) => {
          await ctx.handoff({ intent: 'x' });
          try {
            await ctx.reply('still here?');
            result.resolve('sent');
          } catch (error) {
            result.resolve(`refused: ${(error as { code?: string }).code}`);
          }
        });
      },
    });
    const chat = await testChat(bot);
    await chat.say('hi');
    await chat.expectHandoff({ intent: 'x' });
    expect(await result.wait(3000, 'reply after handoff hung')).toMatch(/^refused: CB_/);
  });

  it('ctx.reply over the per-type limit is a coded error, not a hang', async () => {
    const result = deferred<string>();
    const bot = defineBot({
      name: 'big',
      displayName: 'Big',
      setup(bot) {
        bot.on('message', (ctx) =>
          ctx.reply('x'.repeat(1025)).then(
            () => result.resolve('sent'),
            (error: { code?: string }) => result.resolve(`refused: ${error.code}`),
          ),
        );
      },
    });
    const chat = await testChat(bot);
    await chat.say('hi');
    expect(await result.wait(3000, 'reply hung')).toBe('refused: CB_INVALID_ARGUMENT');
  });
});

describe('testing kit', () => {
  it('expectTyping() waits for typing after the last expectation, not typing shown before it', async () => {
    const bot = defineBot({
      name: 'ty',
      displayName: 'Ty',
      setup(bot) {
        bot.onJoin(async (ctx) => {
          await ctx.typing();
          await ctx.reply('hello');
        });
        bot.on('message', (ctx) => ctx.reply('no typing here'));
      },
    });
    const chat = await testChat(bot);
    await chat.expectReply('hello');
    await chat.say('question');
    await chat.expectReply('no typing here');
    // The bot showed no typing since the last expectation: this must fail.
    await expect(chat.expectTyping({ timeoutMs: 300 })).rejects.toBeInstanceOf(ExpectationError);
  });
});

describe('attributes Connect would refuse', () => {
  it('are CB_INVALID_ARGUMENT before any call, and the bot stays in the chat', async () => {
    const bot = defineBot({
      name: 'badkey',
      displayName: 'Bad key',
      setup(b) {
        b.hears('bad key', (ctx) => ctx.handoff({ 'target queue': 'Billing' }));
        b.hears('too big', (ctx) => ctx.setAttributes({ a: 'x'.repeat(20_000), b: 'y'.repeat(20_000) }));
        b.hears('fine', (ctx) => ctx.handoff({ targetQueue: 'Billing' }));
      },
    });
    const chat = await testChat(bot);
    await chat.say('bad key');
    expect((await chat.expectError('CB_INVALID_ARGUMENT')).message).toContain('"target queue"');
    await chat.say('too big');
    expect((await chat.expectError('CB_INVALID_ARGUMENT')).message).toContain('32768 bytes');
    expect(chat.emulator.calls.count('UpdateContactAttributes')).toBe(0);
    await chat.say('fine');
    await chat.expectHandoff({ targetQueue: 'Billing' });
  });
});
