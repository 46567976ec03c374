import { afterEach, describe, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, ExpectationError, testChat } from '../../src/testing/index.js';

afterEach(closeAllTestChats);

const echo = defineBot({
  name: 'echo',
  displayName: 'Echo',
  setup(bot) {
    bot.hears('bye', (ctx) => ctx.end());
    bot.on('message', (ctx) => ctx.reply(ctx.text));
    bot.on('typing', (ctx) => ctx.reply('I see you typing'));
  },
});

describe('the testing kit behaves as Connect would', () => {
  it('refuses what a customer could not send: after leaving, after the end, a bad content type or length', async () => {
    const chat = await testChat(echo);
    await expect(chat.say('<b>hi</b>', { contentType: 'text/html' })).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(chat.say('x'.repeat(1025))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(chat.say('')).rejects.toMatchObject({ name: 'ValidationException' });
    await chat.say('bye');
    await expect(chat.expectHandoff()).rejects.toThrow(
      'Expected a handoff, but the chat ended first (stopped)',
    );
    await chat.expectEnded();
    await expect(chat.say('one more thing')).rejects.toMatchObject({ name: 'AccessDeniedException' });

    const other = await testChat(echo);
    await other.leave();
    await expect(other.say('hello?')).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it("shows the customer's typing to the bot", async () => {
    const chat = await testChat(echo);
    await chat.typing();
    await chat.expectReply('I see you typing');
  });

  it("paces a bot that floods the chat to Connect's quota, as live", async () => {
    const flood = defineBot({
      name: 'flood',
      displayName: 'Flood',
      setup(bot) {
        bot.on('message', async (ctx) => {
          for (let i = 0; i < 30; i++) await ctx.reply(`line ${i}`);
        });
      },
    });
    const chat = await testChat(flood, { timeoutMs: 10_000 });
    const started = performance.now();
    await chat.say('go');
    for (let i = 0; i < 30; i++) await chat.expectReply(`line ${i}`);
    // 10 a second after a burst of 15 (SendMessage and SendEvent together): at least 1.4 s for 30.
    expect(performance.now() - started).toBeGreaterThan(1300);
    expect(chat.errors).toEqual([]); // an occasional 429 from the service is paused and retried, as live
  });

  it('expectTyping and expectEnded say which handler errors there were', async () => {
    const broken = defineBot({
      name: 'broken',
      displayName: 'Broken',
      setup(bot) {
        bot.on('message', () => {
          throw new Error('lookup failed');
        });
      },
    });
    const chat = await testChat(broken);
    await chat.say('hi');
    await chat.expectError('CB_HANDLER_FAILED');
    await expect(chat.expectTyping({ timeoutMs: 200 })).rejects.toThrow(/Handler errors: .*lookup failed/);
    await expect(chat.expectEnded({ timeoutMs: 200 })).rejects.toThrow(ExpectationError);
    await expect(chat.expectEnded({ timeoutMs: 200 })).rejects.toThrow(/Handler errors: .*lookup failed/);
  });
});
