import { describe, expect, it } from 'vitest';
import type { ChatSession } from '../../src/index.js';
import { joinedChat, setup } from '../support/harness.js';

describe('a session ended inside opened() during start()', () => {
  it("resume() does not resolve with an ended session announced by 'sessionOpened' and never 'sessionEnded'", async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const snapshot = session.snapshot();
    session.close();
    // The resume's CreateParticipantConnection carries no Websocket.ConnectionExpiry: opened() ->
    // scheduleRotation() reports CB_INVALID_EXPIRY, and a client-level listener closes the session.
    emulator.faults.malformExpiries(bot, { connectionExpiry: null });
    const events: string[] = [];
    client.on('sessionError', (s, error) => {
      if (error.code === 'CB_INVALID_EXPIRY') s.close();
    });
    client.on('sessionOpened', () => events.push('sessionOpened'));
    client.on('sessionEnded', () => events.push('sessionEnded'));
    let resumed: ChatSession | undefined;
    let failure: unknown;
    try {
      resumed = await client.resume(snapshot);
    } catch (error) {
      failure = error;
    }
    await new Promise((resolve) => setImmediate(resolve));
    // Either the resume fails (as it does when the session ends earlier in start(): CB_SESSION_ENDED), or it
    // resolves with a live session; and each 'sessionOpened' has its 'sessionEnded' (client.ts `announced`).
    const outcome =
      failure === undefined ? (resumed!.ended ? 'resolved, ended' : 'resolved, open') : 'rejected';
    expect({ outcome, events }).toEqual(
      outcome === 'rejected'
        ? { outcome, events: [] }
        : { outcome: 'resolved, open', events: ['sessionOpened'] },
    );
  });
});
