import { afterEach, describe, it } from 'vitest';
import handoff from '../../bots/handoff/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';

afterEach(closeAllTestChats);

describe('handoff bot', () => {
  for (const [reason, intent, targetQueue] of [
    ['my invoice is wrong', 'billing', 'Billing'],
    ['the app shows an error when I log in', 'technical', 'TechSupport'],
    ['what does the premium plan cost', 'sales', 'Sales'],
    ['just a question', 'general', 'General'],
  ] as const) {
    it(`collects name and reason, then hands off to ${targetQueue}`, async () => {
      const chat = await testChat(handoff, { attributes: { lang: 'en' } });
      await chat.expectReply(/what is your name/);
      await chat.say('Ada');
      await chat.expectReply('Thanks, Ada. What can we help you with today?');
      await chat.say(reason);
      await chat.expectReply(`Got it. Connecting you to our ${targetQueue} team now.`);
      await chat.expectHandoff({ customerName: 'Ada', intent, targetQueue, lang: 'en' });
    });
  }
});
