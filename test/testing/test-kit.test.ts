import { afterEach, describe, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, ExpectationError, testChat } from '../../src/testing/index.js';

afterEach(closeAllTestChats);

const greeter = defineBot<{ count: number }>({
  name: 'greeter',
  displayName: 'Greeter',
  sessionDefaults: () => ({ count: 0 }),
  setup(bot) {
    bot.hears(/^hi$/i, (ctx) => ctx.reply(`hello ${ctx.contact.attributes.lang ?? '?'}`));
    bot.hears('count', (ctx) => ctx.reply(String(++ctx.session.count)));
    bot.hears('boom', () => {
      throw new Error('kaboom');
    });
    bot.hears('bye', (ctx) => ctx.handoff({ intent: 'billing' }));
    bot.hears('end', (ctx) => ctx.end());
  },
});

describe('testChat', () => {
  it('drives a conversation with attributes and per-chat state', async () => {
    const chat = await testChat(greeter, { attributes: { lang: 'en' } });
    await chat.say('hi');
    expect(await chat.expectReply(/hello/i)).toBe('hello en');
    await chat.say('count');
    await chat.expectReply('1');
    await chat.say('count');
    await chat.expectReply('2');
    await chat.say('bye');
    await chat.expectHandoff({ intent: 'billing' });
    expect(chat.replies).toEqual(['hello en', '1', '2']);
  });

  it('keeps state per chat', async () => {
    const [a, b] = await Promise.all([testChat(greeter), testChat(greeter)]);
    await a!.say('count');
    await a!.expectReply('1');
    await b!.say('count');
    await b!.expectReply('1');
  });

  it('fails with what the bot said instead', async () => {
    const chat = await testChat(greeter, { attributes: { lang: 'fr' } });
    await chat.say('hi');
    const error = await chat.expectReply(/bonjour/).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExpectationError);
    expect((error as Error).message).toBe('Expected the bot to reply /bonjour/, but it said "hello fr"');
  });

  it('fails with a useful message when the bot says nothing, naming handler errors', async () => {
    const chat = await testChat(greeter, { timeoutMs: 400 });
    await chat.say('boom');
    const error = await chat.expectReply('anything').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /^Expected the bot to reply "anything", but it said nothing within 400 ms\. Replies so far: \[\]\. Handler errors: CB_HANDLER_FAILED: kaboom$/,
    );
  });

  it('reports a handoff with the wrong attributes', async () => {
    const chat = await testChat(greeter);
    await chat.say('bye');
    const error = await chat.expectHandoff({ intent: 'sales' }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /Expected a handoff with \{"intent":"sales"\}, but the bot set .*"intent":"billing"/,
    );
  });

  it('reports a missing handoff', async () => {
    const chat = await testChat(greeter, { timeoutMs: 300 });
    await chat.say('count');
    const error = await chat.expectHandoff().catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/still in the chat after 300 ms\. Its replies: \["1"\]/);
  });

  it('expectNoReply fails when the bot speaks, and the customer can leave', async () => {
    const chat = await testChat(greeter);
    await chat.say('nothing the bot answers');
    await chat.expectNoReply(200);
    await chat.say('count');
    const error = await chat.expectNoReply(300).catch((e: unknown) => e);
    expect((error as Error).message).toBe('Expected no reply, but the bot said ["1"]');
    await chat.leave();
    await chat.expectEnded();
  });

  it('sees the chat end', async () => {
    const chat = await testChat(greeter);
    await chat.say('end');
    await chat.expectEnded();
  });
});

describe('kit expectations, strict', () => {
  it('expectNoReply fails while a reply nobody expected is waiting', async () => {
    const bot = defineBot({
      name: 'double-bye',
      displayName: 'Bye',
      setup(b) {
        b.hears('bye', async (ctx) => {
          await ctx.reply('Goodbye!');
          await ctx.reply('Goodbye!'); // the slip the test must catch
          await ctx.end();
        });
      },
    });
    const chat = await testChat(bot);
    await chat.say('bye');
    await chat.expectReply('Goodbye!');
    await chat.expectEnded();
    await expect(chat.expectNoReply(200)).rejects.toThrow(/Goodbye/);
  });

  it('expectReply fails at once when the chat is over, saying so', async () => {
    const bot = defineBot({
      name: 'ender',
      displayName: 'Ender',
      setup(b) {
        b.hears('bye', (ctx) => ctx.end());
      },
    });
    const chat = await testChat(bot);
    await chat.say('bye');
    await chat.expectEnded();
    // A timeout past the test's own: only failing at once lets the test finish.
    const error = (await chat
      .expectReply('see you', { timeoutMs: 120_000 })
      .catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/but the chat ended/);
  });

  it('keeps the contact attributes the test gives, a `bot` one included (the bot is named as a flow parameter)', async () => {
    const bot = defineBot({
      name: 'router',
      displayName: 'Router',
      setup(b) {
        b.hears('go', (ctx) => ctx.handoff({ intent: 'sales' }));
      },
    });
    const chat = await testChat(bot, { attributes: { bot: 'vip-lounge', lang: 'en' } });
    expect(chat.attributes()).toEqual({ bot: 'vip-lounge', lang: 'en' });
    await chat.say('go');
    expect(await chat.expectHandoff({ intent: 'sales' })).toEqual({
      bot: 'vip-lounge',
      lang: 'en',
      intent: 'sales',
    });
  });
});
