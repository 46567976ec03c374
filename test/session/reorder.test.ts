import { describe, expect, it } from 'vitest';
import { dropAndReopen, handOver, joinedChat, sayOutOfOrder, setup } from '../support/harness.js';
import { waitUntil } from '../support/wait.js';

/**
 * The socket may deliver items out of transcript order (protocol.md §6, pitfall 4). The back-fill starts from
 * the ring item earliest in the transcript, and a snapshot carries the ring to the session that resumes it.
 */
describe('the back-fill start after out-of-order delivery', () => {
  it('back-fills B when the socket delivered C before A and lost B, and C is the oldest item of the ring', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    // Each item in its own millisecond: AbsoluteTime orders them (items of one millisecond cannot be ordered).
    const say = async (text: string) => {
      const at = Date.now();
      await waitUntil(() => Date.now() > at, 'the next millisecond');
      emulator.say(chat.contactId, text);
    };
    emulator.say(chat.contactId, 'first');
    await recorder.waitForMessages(1);
    // Transcript: A, B, C. The socket gets C, then A (A was held until the next push went out); B never.
    emulator.faults.pushes(bot, { reorder: 1 });
    await say('A');
    emulator.faults.pushes(bot, { lose: 1 });
    await say('B');
    await say('C');
    const more = ['D1', 'D2', 'D3', 'D4', 'D5', 'D6'];
    for (const text of more) emulator.say(chat.contactId, text);
    await recorder.waitForMessages(9);
    expect(recorder.customerMessages()).toEqual(['first', 'C', 'A', ...more]);
    // The ring is now C, A, D1..D6: eight accepted items, C the oldest, the cursor D6.
    // The back-fill starts from A, the earliest in the transcript, not from C, the oldest accepted.
    await dropAndReopen(emulator, session);
    emulator.say(chat.contactId, 'after');
    await recorder.receivedExactlyOnce(['first', 'C', 'A', ...more, 'B', 'after']);
  });
});

/**
 * The socket delivered B before A (A is first in the transcript): the snapshot's cursor is A, and B comes after
 * it in the resumed session's back-fill. The first host delivered B already: the snapshot's ring says so.
 */
describe('a resume after out-of-order delivery', () => {
  it('a resumed session does not deliver again an item its predecessor accepted out of order', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    await sayOutOfOrder(emulator, session, recorder);
    const { recorder: resumedRecorder } = await handOver(client, session);
    emulator.say(chat.contactId, 'after');
    await resumedRecorder.waitForMessages(1);
    // Everything the two hosts delivered between them, in order: B must appear once.
    const all = [...recorder.customerMessages(), ...resumedRecorder.customerMessages()];
    expect(all).toEqual(['first', 'B', 'A', 'after']);
  });
});

describe('a resume after an item lost behind a later one', () => {
  it('a resumed session back-fills an item its predecessor never got because a later one overtook it', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    emulator.say(chat.contactId, 'before');
    await recorder.waitForMessages(1);
    // As in recovery.test.ts: "lost" is stored but never pushed (a frame in flight when the first host closed
    // its socket), "later" arrives first, so the snapshot's cursor is past "lost".
    emulator.faults.pushes(bot, { lose: 1 });
    emulator.say(chat.contactId, 'lost');
    emulator.say(chat.contactId, 'later');
    await recorder.waitForMessages(2);
    expect(recorder.customerMessages()).toEqual(['before', 'later']);
    const { recorder: resumedRecorder } = await handOver(client, session);
    emulator.say(chat.contactId, 'after');
    await resumedRecorder.receivedExactlyOnce(['lost', 'after']);
    expect(recorder.customerMessages()).toEqual(['before', 'later']);
  });
});
