// Regression (fixed; introduced in cb56057): Context.successor() now copies every own property middleware put on ctx onto the
// error handler's context. A middleware that wraps a verb (`ctx.reply = (t) => orig(translate(t))`, `orig` bound
// to that ctx) or adds a helper closing over it (`ctx.say = (t) => ctx.reply(t)`) hands bot.catch, for a
// CB_HANDLER_TIMEOUT, a function that acts through the REVOKED context: the apology is refused with
// CB_HANDLER_TIMEOUT. Before the change the successor's `reply` was Context.prototype.reply and the apology was
// posted. README "Handler timeout": "The `ctx` that `bot.catch` gets can still reply, to apologise, say".
import { afterEach, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';
import { deferred } from '../support/deferred.js';

afterEach(closeAllTestChats);

it('bot.catch can apologise for a timeout through a ctx.reply that middleware wrapped', async () => {
  // Expected: an apology is posted ("[fr] sorry", or at least "sorry").
  // Before the fix: no reply; bot.catch's reply rejects with CB_HANDLER_TIMEOUT ("reply refused: handler ... did not finish").
  const gate = deferred<void>();
  const apology = deferred<string>();
  const bot = defineBot({
    name: 'wrapped-reply',
    displayName: 'Wrapped',
    setup(b) {
      b.catch(async (e) => {
        if (e.code !== 'CB_HANDLER_TIMEOUT') return;
        try {
          await e.ctx.reply('sorry');
          apology.resolve('sent');
        } catch (error) {
          apology.resolve(`refused: ${(error as { code?: string }).code}`);
        }
      });
      b.use(async (ctx, next) => {
        // A translation middleware: every reply of this update goes out in the customer's language.
        const orig = ctx.reply.bind(ctx);
        ctx.reply = (text, options) => orig(`[fr] ${text}`, options);
        await next();
      });
      b.on('message', () => gate.promise); // hangs: times out
    },
  });
  const chat = await testChat(bot, { handlerTimeoutMs: 300 });
  try {
    await chat.say('x');
    expect(await apology.wait(5000, 'bot.catch never finished')).toBe('sent');
  } finally {
    gate.resolve();
  }
}, 20_000);
