import { afterEach, describe, it } from 'vitest';
import faq from '../../bots/faq/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';

afterEach(closeAllTestChats);

describe('faq bot', () => {
  it('shows the menu, answers by number and by keyword', async () => {
    const chat = await testChat(faq);
    await chat.expectReply(/Help Center bot/);
    await chat.say('1');
    await chat.expectReply(/9:00 to 17:00/);
    await chat.say('how long does delivery take?');
    await chat.expectReply(/3-5 business days/);
    await chat.say('menu');
    await chat.expectReply(/Returns and refunds/);
    await chat.say('what is the meaning of life');
    await chat.expectReply(/did not get that/);
  });

  it('walks through a return over several turns, showing typing before the slow lookup', async () => {
    const chat = await testChat(faq);
    await chat.expectReply();
    await chat.say('I want to return something');
    await chat.expectReply(/order number/);
    await chat.say('not sure');
    await chat.expectReply(/does not look like an order number/);
    await chat.say('it is 123456');
    await chat.expectTyping();
    await chat.expectReply(/Order 123456 is eligible/);
    await chat.say('shipping');
    await chat.expectReply(/business days/); // back to normal answers
  });

  it('hands off to an agent with the topics discussed', async () => {
    const chat = await testChat(faq);
    await chat.expectReply();
    await chat.say('shipping');
    await chat.expectReply();
    await chat.say('can I talk to a human');
    await chat.expectReply(/Connecting you/);
    await chat.expectHandoff({ intent: 'agent', topics: 'shipping' });
  });

  it('"menu" leaves the returns flow, as its prompt says', async () => {
    const chat = await testChat(faq);
    await chat.expectReply();
    await chat.say('I want to return something');
    await chat.expectReply(/order number/);
    await chat.say('menu');
    await chat.expectReply(/Returns and refunds/);
    await chat.say('shipping');
    await chat.expectReply(/business days/);
  });

  it('takes a menu number typed on its own, not a digit inside a sentence', async () => {
    const chat = await testChat(faq);
    await chat.expectReply();
    await chat.say('I was charged 3 times');
    await chat.expectReply(/did not get that/);
    await chat.say(' 3. ');
    await chat.expectReply(/order number/);
  });

  it('hands off each topic once, in the order asked', async () => {
    const chat = await testChat(faq);
    await chat.expectReply();
    for (const text of ['shipping', 'opening hours', 'delivery?']) {
      await chat.say(text);
      await chat.expectReply();
    }
    await chat.say('agent');
    await chat.expectReply(/Connecting you/);
    await chat.expectHandoff({ topics: 'shipping,hours' });
  });
});

describe('faq bot when the handoff fails', () => {
  it('tells the customer, rather than fall silent after promising a person', async () => {
    const chat = await testChat(faq, { timeoutMs: 8000 });
    await chat.expectReply(/Help Center bot/);
    chat.emulator.faults.failNext('UpdateContactAttributes', { count: 50, status: 500 });
    await chat.say('agent');
    await chat.expectReply(/Connecting you/);
    await chat.expectError('CB_API_REFUSED');
    await chat.expectReply(/could not reach the team/);
  });
});
