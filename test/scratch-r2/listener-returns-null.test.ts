import { describe, expect, it } from 'vitest';
import type { ConnectBotError } from '../../src/index.js';
import { joinedChat, setup } from '../support/harness.js';

/**
 * callListener (src/session/session.ts) reads `.then` of whatever a listener returned, guarded only against
 * `undefined`: a listener that returns `null` (e.g. `(item) => cache.get(item.Id) ?? null`, or a Map lookup
 * style callback) makes `null.then` throw a TypeError, which is caught and reported as CB_HANDLER_FAILED
 * "a 'message' listener threw" although the listener did nothing wrong.
 */
describe('an item listener that returns null', () => {
  it('is not reported as a failed listener', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const errors: ConnectBotError[] = [];
    session.on('error', (error) => errors.push(error));
    session.on('message', () => null);
    emulator.say(chat.contactId, 'hello');
    await recorder.waitForMessages(1);
    // A second message makes sure the first one's delivery (and any report) is complete.
    emulator.say(chat.contactId, 'again');
    await recorder.waitForMessages(2);
    expect(errors.map((e) => `${e.code}: ${e.message}`)).toEqual([]);
  });
});
