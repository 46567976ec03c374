import { afterEach, describe, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, ExpectationError, testChat } from '../../src/testing/index.js';

afterEach(closeAllTestChats);

const silent = defineBot({ name: 'kit-silent', displayName: 'Silent', setup() {} });

describe('expectReply fails at once when the bot can no longer reply', () => {
  // README "Testing your bot": "once the bot cannot reply any more, `expectReply` fails at once". When the flow's
  // Wait block times out (a shortened `emulator.timings.waitTimeoutMs`, an option the README lists), the emulator
  // removes the bot from the contact (state.ts startWait: leave(contact, bot, 'wait-timed-out')): the bot can say
  // nothing more. TestChat.whyOver only recognises BotParticipantDisconnected and "chat ended: …" outcomes, so a
  // Wait that ended with WaitCompleted ("wait timed out") or ParticipantNotFound leaves expectReply waiting out
  // its whole timeout.
  // Expected: rejects at once, saying the bot left / the Wait ended. Before the fix: waits the full timeoutMs, then says
  // "it said nothing within … ms".
  it('after the flow Wait times out and the bot is removed', async () => {
    const chat = await testChat(silent, { emulator: { timings: { waitTimeoutMs: 200 } } });
    // The Wait block ends (and the bot is removed) 200 ms in.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the Wait block did not end')), 3000);
      const check = () => {
        if (chat.emulator.outcome(chat.contactId).wait.status !== 'done') return;
        clearTimeout(timer);
        chat.emulator.state.off('outcome', check);
        resolve();
      };
      chat.emulator.state.on('outcome', check);
      check();
    });
    expect(chat.emulator.outcome(chat.contactId).wait.result).toBe('WaitCompleted');
    const bot = chat.emulator.contact(chat.contactId).participants.find((p) => p.role === 'CUSTOM_BOT');
    expect(bot?.state).toBe('left');

    const started = performance.now();
    const error = (await chat.expectReply('anything', { timeoutMs: 4000 }).catch((e: unknown) => e)) as Error;
    const waited = performance.now() - started;
    expect(error).toBeInstanceOf(ExpectationError);
    expect(error.message).not.toMatch(/said nothing within/);
    expect(waited).toBeLessThan(1000);
  }, 10_000);
});

describe('failure messages as README quotes them', () => {
  // README "Testing your bot": "once the bot cannot reply any more, `expectReply` fails at once
  // (`... but the chat ended (customer)`, ...)". TestChat.whyOver copies the emulator's internal endContact reason
  // verbatim, so the customer leaving gives "the chat ended (customer-disconnected)".
  // Expected: "... but the chat ended (customer)". Before the fix: "... but the chat ended (customer-disconnected)".
  // Minor: a README-quoted message that does not hold (a user matching /chat ended \(customer\)/ fails).
  it('says "the chat ended (customer)" when the customer left', async () => {
    const chat = await testChat(silent);
    await chat.leave();
    const error = (await chat.expectReply('hi', { timeoutMs: 3000 }).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/but the chat ended \(customer\)/);
  }, 10_000);
});
