import { describe, expect, it } from 'vitest';
import { setup } from '../support/harness.js';
import { waitUntil } from '../support/wait.js';

describe('client listeners', () => {
  it('a throwing sessionOpened listener neither fails the join nor leaves an unheld session open', async () => {
    const { emulator, client } = await setup();
    client.on('sessionOpened', () => {
      throw new Error('listener bug');
    });
    const chat = emulator.startChat();
    const outcome = await client
      .join({ instanceId: emulator.instanceId, contactId: chat.contactId, displayName: 'Bot' })
      .then(
        () => 'resolved',
        (error: Error) => `rejected: ${error.message}`,
      );
    // README: "A throwing state, error, ended (or client) listener is logged and changes nothing."
    const openSessions = [...client.sessions].filter((s) => !s.ended).length; // 1 either way: held by nobody if the join rejected
    expect({ outcome, openSessions }).toEqual({ outcome: 'resolved', openSessions: 1 });
  });
});

describe('closeAll() while a resume opens', () => {
  it('releases the participant locally, without leaving the chat (the snapshot stays usable)', async () => {
    const { emulator, client } = await setup();
    const chat = emulator.startChat();
    const session = await client.join({
      instanceId: emulator.instanceId,
      contactId: chat.contactId,
      displayName: 'Bot',
    });
    const snapshot = session.snapshot();
    session.close();
    emulator.faults.subscribeAcks({ contactId: chat.contactId, role: 'CUSTOM_BOT' }, { drop: 100 });
    const resuming = client.resume(snapshot).catch((error: { code?: string }) => error.code);
    await waitUntil(() => client.sessions.size === 1, 'the resume to reach start()', 5000);
    client.closeAll(); // releases every session locally, without leaving the chats
    // The resume rejects only after its clean-up (which used to leave the chat) is done.
    expect(await resuming).toBe('CB_SESSION_ENDED');
    const bot = emulator.contact(chat.contactId).participants.find((p) => p.role === 'CUSTOM_BOT');
    expect(bot?.state).toBe('connected');
  });
});
