// Regression (fixed): for a thrown error, bot.catch runs inside the handler's timeout race (Bot.handle awaits report() and
// HostedChat.runEntry races bot.handle against the timer). When bot.catch outlives handlerTimeoutMs, the host
// reports a CB_HANDLER_TIMEOUT for a handler that did not time out: bot.catch is called a second time for the same
// update, the CB_HANDLER_FAILED is never passed to onHandlerError (host 'handlerError', metrics, chat.errors), and
// the second call's ctx (ctx.successor()) has the same reply scope `${itemId}\0catch` and index as the first
// (Context.forErrorHandler), so its reply carries the same ClientToken and the service de-duplicates it away.
import { afterEach, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';
import { deferred } from '../support/deferred.js';

afterEach(closeAllTestChats);

function slowCatchBot(gate: Promise<void>) {
  return defineBot({
    name: 'slow-catch',
    displayName: 'Slow catch',
    setup(b) {
      b.catch(async (e) => {
        if (e.code === 'CB_HANDLER_FAILED') {
          await e.ctx.reply('sorry: failed');
          await gate; // e.g. reporting the failure to an external tracker that is slow
        } else {
          await e.ctx.reply(`sorry: ${e.code}`);
        }
      });
      b.on('message', () => {
        throw new Error('boom');
      });
    },
  });
}

it('a slow bot.catch for a thrown error is not also reported as a handler timeout', async () => {
  // Before the fix: bot.catch ran inside the handler's timeout race, so when it outlived handlerTimeoutMs the
  // host reported CB_HANDLER_TIMEOUT as well and called bot.catch again, whose apology then had the first one's
  // ClientToken and was de-duplicated away by the service.
  const gate = deferred<void>();
  const chat = await testChat(slowCatchBot(gate.promise), { handlerTimeoutMs: 300 });
  try {
    await chat.say('x');
    await chat.expectReply('sorry: failed');
    expect((await chat.expectError()).code).toBe('CB_HANDLER_FAILED');
    await chat.expectNoReply(700);
    expect(chat.errors.map((e) => e.code)).toEqual(['CB_HANDLER_FAILED']);
  } finally {
    gate.resolve();
  }
}, 20_000);

it('the thrown error bot.catch got never reaches the host handlerError event (chat.errors)', async () => {
  // Expected (README testing kit: `chat.expectError(code?)` is "the next handler error, as bot.catch got it";
  //   HostedChatOptions.onHandlerError: "Called for every handler failure or timeout"): CB_HANDLER_FAILED first.
  // Before the fix: chat.errors = [CB_HANDLER_TIMEOUT] only; the failure is counted as a timeout in metrics/stats.
  const gate = deferred<void>();
  const chat = await testChat(slowCatchBot(gate.promise), { handlerTimeoutMs: 300 });
  try {
    await chat.say('x');
    await chat.expectReply('sorry: failed');
    const first = await chat.expectError(undefined, { timeoutMs: 3000 });
    expect(first.code).toBe('CB_HANDLER_FAILED');
  } finally {
    gate.resolve();
  }
}, 20_000);
