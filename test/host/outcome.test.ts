import { describe, expect, it } from 'vitest';
import { type BotError, type Context, defineBot } from '../../src/index.js';
import { chatWithBot, hostSetup, waitForBotMessages } from '../support/host-harness.js';
import { waitUntil } from '../support/wait.js';

/** A bot that ends or hands off on request, and answers every other message. */
function bot(errors: string[]) {
  return defineBot({
    name: 'closer',
    displayName: 'Closer',
    setup(b) {
      b.hears('bye', (ctx) => ctx.end());
      b.hears('agent', (ctx) => ctx.handoff({ intent: 'agent' }));
      b.on('message', (ctx) => ctx.reply(`ok: ${ctx.text}`));
      b.catch((error: BotError<Context>) => {
        errors.push(error.code);
      });
    },
  });
}

/**
 * The customer says `trigger`, whose action fails (the emulator refuses `operation` every time); the bot must
 * still be in the chat and answer the next message.
 */
async function failedActionThenHello(trigger: string, operation: 'StopContact' | 'DisconnectParticipant') {
  const errors: string[] = [];
  const setup = await hostSetup({ bots: [bot(errors)] });
  const chat = await chatWithBot(setup);
  const held = setup.host.chats.get(chat.contactId)!;
  setup.emulator.faults.failNext(operation, { status: 500, count: 50 });
  setup.emulator.say(chat.contactId, trigger);
  await waitUntil(() => errors.length > 0, `the action on '${trigger}' to fail`, 10_000);
  setup.emulator.faults.clear();
  expect(held.session.ended).toBe(false); // the chat goes on, the bot is still in it
  setup.emulator.say(chat.contactId, 'hello');
  await waitUntil(() => held.idle && held.stats.handled + held.stats.skipped >= 3, 'hello to be taken', 5000);
  expect({ skipped: held.stats.skipped, outcome: held.outcome }).toEqual({ skipped: 0, outcome: undefined });
  expect(await waitForBotMessages(setup.emulator, chat.contactId, 1, 3000)).toEqual(['ok: hello']);
}

describe('a failed ctx.end() or ctx.handoff()', () => {
  it('after ctx.end() fails (StopContact refused), the bot still answers the next message', async () => {
    await failedActionThenHello('bye', 'StopContact');
  });

  it('after ctx.handoff() fails (DisconnectParticipant keeps failing), the bot still answers', async () => {
    await failedActionThenHello('agent', 'DisconnectParticipant');
  });
});
