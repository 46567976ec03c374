import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import handoff from '../../bots/handoff/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';

afterEach(closeAllTestChats);

const ROUTED = [
  ['my invoice is wrong', 'billing', 'Billing'],
  ['the app shows an error when I log in', 'technical', 'TechSupport'],
  ['what does the premium plan cost', 'sales', 'Sales'],
  ['just a question', 'general', 'General'],
] as const;

describe('handoff bot', () => {
  for (const [reason, intent, targetQueue] of ROUTED) {
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

  it('stays and answers after a handoff that failed, then hands off on the next try', async () => {
    const chat = await testChat(handoff, { timeoutMs: 8000 });
    await chat.expectReply(/what is your name/);
    await chat.say('Ada');
    await chat.expectReply(/Thanks, Ada/);
    // Every attempt of the caller's retries fails: the handoff gives up with the error.
    chat.emulator.faults.failNext('UpdateContactAttributes', { count: 50, status: 500 });
    await chat.say('my invoice is wrong');
    await chat.expectReply(/Connecting you to our Billing team/);
    await chat.expectReply(/could not connect you/);
    const error = await chat.expectError('CB_API_REFUSED');
    expect(error.message).toMatch(/UpdateContactAttributes/);
    chat.emulator.faults.clear();
    await chat.say('I get an error when I log in');
    await chat.expectReply(/TechSupport team/);
    await chat.expectHandoff({ customerName: 'Ada', intent: 'technical', targetQueue: 'TechSupport' });
  });
});

describe('handoff bot on blank input', () => {
  it('asks again when the reason is blank, rather than route it to General', async () => {
    const chat = await testChat(handoff);
    await chat.expectReply(/what is your name/);
    await chat.say('Ada');
    await chat.expectReply(/Thanks, Ada/);
    await chat.say('   ');
    await chat.expectReply(/what can we help you with/i);
  });
});

describe('the sample contact flow (examples/contact-flow)', () => {
  it('invokes the handoff bot and has a queue for every targetQueue it hands back (General is the default)', async () => {
    interface Action {
      Identifier: string;
      Type: string;
      Parameters: Record<string, unknown>;
      Transitions: {
        NextAction?: string;
        Conditions?: Array<{ NextAction: string; Condition: { Operands: string[] } }>;
      };
    }
    const flow = JSON.parse(await readFile('examples/contact-flow/custom-bot-chat-flow.json', 'utf8')) as {
      Actions: Action[];
    };
    const action = (id: string | undefined) => flow.Actions.find((a) => a.Identifier === id);
    const invoke = flow.Actions.find((a) => a.Type === 'InvokeLambdaFunction')!;
    expect(invoke.Parameters.LambdaInvocationAttributes).toMatchObject({ bot: 'handoff' });
    const branch = action('branch-on-intent')!;
    for (const [, , targetQueue] of ROUTED) {
      const next =
        branch.Transitions.Conditions?.find((c) => c.Condition.Operands.includes(targetQueue))?.NextAction ??
        branch.Transitions.NextAction;
      const queue = String(action(next)?.Parameters.QueueId);
      const expected =
        targetQueue === 'General'
          ? 'GENERAL'
          : targetQueue === 'TechSupport'
            ? 'TECH'
            : targetQueue.toUpperCase();
      expect(queue, targetQueue).toContain(`/queue/${expected}_QUEUE_ID`);
    }
  });
});
