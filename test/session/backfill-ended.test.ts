import { describe, expect, it } from 'vitest';
import { joinedChat, setup } from '../support/harness.js';
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
