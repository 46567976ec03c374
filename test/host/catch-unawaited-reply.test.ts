// Regression (fixed; introduced in cb56057): for a THROWN error, HostedChat.runEntry now runs bot.catch through failInTurn,
// which revokes the handler's ctx (`ctx.revoke(error)`, aborting its in-flight AbortController) as soon as
// bot.catch returns. Before, a thrown error never revoked the ctx. A bot.catch that does not await its apology
// (`bot.catch((e) => { e.ctx.reply('Sorry'); log(e) })`, the grammY idiom) now has it aborted in flight: the
// customer gets no apology. README only says an ABANDONED (timed-out) handler's replies give up.
import { afterEach, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';
import { deferred } from '../support/deferred.js';

afterEach(closeAllTestChats);

it('an apology bot.catch sends without awaiting it, for a thrown error, is posted', async () => {
  // Expected: the customer gets "sorry". Before the fix: the reply is aborted by ctx.revoke() (CB_HANDLER_FAILED reason).
  const outcome = deferred<string>();
  const bot = defineBot({
    name: 'unawaited-apology',
    displayName: 'Apology',
    setup(b) {
      b.catch((e) => {
        e.ctx.reply('sorry').then(
          () => outcome.resolve('sent'),
          (error: { code?: string; message?: string }) =>
            outcome.resolve(`failed: ${error.code ?? ''} ${error.message ?? ''}`),
        );
      });
      b.on('message', () => {
        throw new Error('boom');
      });
    },
  });
  const chat = await testChat(bot);
  await chat.say('x');
  expect(await outcome.wait(5000, 'the apology never settled')).toBe('sent');
  await chat.expectReply('sorry', { timeoutMs: 3000 });
}, 20_000);
