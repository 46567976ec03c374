// Regression (fixed): on a handler timeout bot.catch gets `ctx.successor()`, a brand-new Context that only copies `match`.
// Properties upstream middleware put on ctx (the grammY "context flavor" pattern: ctx.lang, ctx.user...) are gone,
// although for a thrown error bot.catch gets the very ctx the middleware saw (Bot.handle: "the same context, which
// middleware may have added to"). anchors-bots.md: BotError "wraps the handler error and its ctx".
import { afterEach, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';
import { deferred } from '../support/deferred.js';

afterEach(closeAllTestChats);

it('bot.catch for CB_HANDLER_TIMEOUT sees what upstream middleware set on ctx', async () => {
  // Expected: the apology uses the language middleware set: "lang=fr". Before the fix: "lang=undefined".
  const gate = deferred<void>();
  const bot = defineBot({
    name: 'flavor',
    displayName: 'Flavor',
    setup(b) {
      b.catch((e) => e.ctx.reply(`lang=${(e.ctx as unknown as { lang?: string }).lang}`));
      b.use(async (ctx, next) => {
        (ctx as unknown as { lang: string }).lang = 'fr';
        await next();
      });
      b.on('message', () => gate.promise); // hangs: times out
    },
  });
  const chat = await testChat(bot, { handlerTimeoutMs: 300 });
  try {
    await chat.say('x');
    await chat.expectReply('lang=fr', { timeoutMs: 3000 });
  } finally {
    gate.resolve();
  }
}, 20_000);
