import { describe, expect, it } from 'vitest';
import { ContentType, joinedChat, onThrottled, setup } from '../support/harness.js';
import { nextEvent } from '../support/wait.js';

describe("no 'error' after 'ended' from a back-fill", () => {
  it('an item listener that ends the session on a page whose NextToken repeats: no CB_TRANSCRIPT_LOOP after the end', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    // 180 messages the socket never delivers (the transcript has them): the recovery's back-fill pages them.
    emulator.faults.pushes(bot, { lose: 180 });
    for (let i = 1; i <= 180; i++) emulator.say(chat.contactId, `m${i}`);
    // The second page (asked with NextToken T) comes back with T again: the back-fill's loop guard reports it.
    emulator.faults.repeatNextTokens(bot, { count: 1 });
    let ended = false;
    const late: string[] = [];
    session.on('ended', () => {
      ended = true;
    });
    session.on('error', (error) => ended && late.push(`error ${error.code}`));
    client.on(
      'sessionError',
      (s, error) => s === session && ended && late.push(`sessionError ${error.code}`),
    );
    // A listener ends the session on an item of the second page.
    session.on('message', (item) => item.Content === 'm170' && session.close());
    const end = nextEvent(session, 'ended', () => true, 5000);
    emulator.faults.dropSockets(bot, 'abrupt');
    await end;
    await new Promise((resolve) => setImmediate(resolve));
    expect(late).toEqual([]);
  });
});

describe('the chat ends while a back-fill holds live items back', () => {
  // The new socket is subscribed, so the customer's last message and chat.ended arrive live and wait for the
  // back-fill; its retried GetTranscript then meets the 403 every call meets after the end.
  for (const path of ['reconnect', 'rotation'] as const) {
    it(`${path}: the held items are delivered, and chat.ended ends the session as chat-ended`, async () => {
      const { emulator, client } = await setup({
        ...(path === 'rotation' ? { emulator: { timings: { connectionExpiryMs: 1500 } } } : {}),
        client: {
          retry: { minDelayMs: 300, maxDelayMs: 300 },
          ...(path === 'rotation' ? { timings: { rotationMarginMs: 700 } } : {}),
        },
      });
      const { chat, session, recorder } = await joinedChat(emulator, client);
      const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
      emulator.say(chat.contactId, 'before');
      await recorder.waitForMessages(1);
      emulator.faults.failNext('GetTranscript', { status: 429, participant: bot });
      onThrottled(client, 'GetTranscript', () => {
        emulator.say(chat.contactId, 'bye');
        emulator.endChat(chat.contactId, 'customer');
      });
      const ended = nextEvent(session, 'ended', () => true, 10_000);
      if (path === 'reconnect') emulator.faults.dropSockets(bot, 'abrupt');
      const [reason] = await ended;
      expect(recorder.customerMessages()).toEqual(['before', 'bye']);
      expect(recorder.items.at(-1)?.ContentType).toBe(ContentType.chatEnded);
      expect(reason).toBe('chat-ended'); // was access-denied, with 'bye' and chat.ended dropped
    });
  }
});
