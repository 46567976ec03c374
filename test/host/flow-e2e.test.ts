import { describe, expect, it } from 'vitest';
import { chatWithBot, hostSetup, waitForBotMessages } from '../support/host-harness.js';
import { nextEvent } from '../support/wait.js';

describe('end to end through the flow simulation', () => {
  it('chat starts → flow posts the event to /join → bot joins → customer talks → handoff → BotParticipantDisconnected', async () => {
    const setup = await hostSetup();
    const { emulator } = setup;
    const chat = await chatWithBot(setup, { bot: 'handoff' });
    expect(emulator.outcome(chat.contactId).lambda).toMatchObject({
      status: 'succeeded',
      statusCode: 200,
      response: { status: 'success' },
    });
    await waitForBotMessages(emulator, chat.contactId, 1); // greeting
    emulator.say(chat.contactId, 'Dana');
    await waitForBotMessages(emulator, chat.contactId, 2);
    const outcome = nextEvent(emulator.state, 'outcome', (contact) => contact.contactId === chat.contactId);
    emulator.say(chat.contactId, 'I was charged twice on my invoice');
    await outcome;
    expect(emulator.outcome(chat.contactId).wait).toMatchObject({
      status: 'done',
      result: 'BotParticipantDisconnected',
      attributes: { bot: 'handoff', customerName: 'Dana', intent: 'billing', targetQueue: 'Billing' },
    });
    expect(await waitForBotMessages(emulator, chat.contactId, 3)).toEqual([
      'Hi! Before I connect you with the right team: what is your name?',
      'Thanks, Dana. What can we help you with today?',
      'Got it. Connecting you to our Billing team now.',
    ]);
  });
});
