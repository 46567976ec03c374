import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/index.js';
import { joinedChat, setup } from '../support/harness.js';
import { nextEvent, waitUntil } from '../support/wait.js';

describe('close() while a new socket is subscribing', () => {
  it("a rotation's incoming socket is closed with the session, not left open until its subscribe gives up", async () => {
    const scheduler = new Scheduler();
    const { emulator, client } = await setup({
      emulator: { timings: { connectionExpiryMs: 1500 } },
      // First rotation ~500 ms after the join; a subscribe that is never acknowledged takes 4 x 1 s to fail.
      client: { scheduler, timings: { rotationMarginMs: 1000, subscribeAckTimeoutMs: 1000 } },
    });
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    emulator.faults.subscribeAcks(bot, { drop: 4 });
    await nextEvent(session, 'state', (state) => state === 'rotating', 5000);
    // The rotation's socket is open at the gateway and waits for its ack.
    await waitUntil(() => emulator.sockets(bot).length === 2, 'the rotation socket at the gateway', 5000);
    session.close();
    expect(session.ended).toBe(true);
    // Closing takes one close handshake on 127.0.0.1: well under 500 ms.
    await waitUntil(() => emulator.sockets(bot).length === 0, 'no bot socket left', 500).catch(
      () => undefined,
    );
    expect({ sockets: emulator.sockets(bot).length, tasks: scheduler.size }).toEqual({
      sockets: 0,
      tasks: 0,
    });
  });
});
