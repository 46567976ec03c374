// The README's bot and testing examples, copied as written (only the import of the bot under test changes).

import { defineBot } from 'connect-bot';
import { closeAllTestChats, testChat } from 'connect-bot/testing';
import { afterEach, expect, it } from 'vitest';

afterEach(closeAllTestChats);

// README "Write a bot", verbatim.
const shop = defineBot<{ asked: number }>({
  name: 'shop',
  displayName: 'Shop Assistant',
  sessionDefaults: () => ({ asked: 0 }),
  setup(bot) {
    bot.onJoin((ctx) => ctx.reply('Hi! Ask me about **your order**.', { contentType: 'text/markdown' }));
    bot.hears(/agent|human/i, (ctx) => ctx.handoff({ intent: 'agent', asked: String(ctx.session.asked) }));
    bot.hears(/order (\d+)/i, async (ctx) => {
      ctx.session.asked++;
      await ctx.typing();
      await ctx.reply(`Order ${ctx.match[1]} ships tomorrow.`);
    });
    bot.on('message', (ctx) => ctx.reply('Sorry, try "order 123" or "agent".'));
  },
});

it('README "Write a bot" example works as written', async () => {
  const chat = await testChat(shop);
  await chat.expectReply('Hi! Ask me about **your order**.');
  await chat.say('where is order 42?');
  await chat.expectTyping();
  await chat.expectReply('Order 42 ships tomorrow.');
  await chat.say('hello');
  await chat.expectReply(/Sorry/);
  await chat.say('a human please');
  await chat.expectHandoff({ intent: 'agent', asked: '1' });
  expect(chat.errors).toEqual([]);
});

// A bot that satisfies the README's "Testing your bot" example: greets with "hello", types before the billing answer.
const myBot = defineBot({
  name: 'my-bot',
  displayName: 'My Bot',
  setup(bot) {
    bot.onJoin((ctx) => ctx.reply(`Hello (${ctx.contact.attributes.lang})`));
    bot.hears(/charged/i, async (ctx) => {
      await ctx.typing();
      await ctx.reply('Let me get billing for you.');
    });
    bot.hears(/agent/i, (ctx) => ctx.handoff({ intent: 'billing' }));
  },
});

// README "Testing your bot", verbatim.
it('routes billing questions', async () => {
  const chat = await testChat(myBot, { attributes: { lang: 'en' } });
  await chat.expectReply(/hello/i); // the greeting
  await chat.say('I was charged twice');
  await chat.expectTyping();
  await chat.expectReply(/billing/i);
  await chat.say('agent please');
  await chat.expectHandoff({ intent: 'billing' });
});
