import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/index.js';
import { joinedChat, setup } from '../support/harness.js';
import { nextEvent, waitUntil } from '../support/wait.js';

describe('a recovery that overtakes a rotation whose socket is still subscribing', () => {
  it("drops the rotation's socket, and the end closes the recovery's: nothing is left open", async () => {
    const scheduler = new Scheduler();
    const { emulator, client } = await setup({
      emulator: { timings: { connectionExpiryMs: 1500 } },
      // First rotation ~300 ms after the join; an unacknowledged subscribe takes 4 x 1 s to give up.
      client: { scheduler, timings: { rotationMarginMs: 1200, subscribeAckTimeoutMs: 1000 } },
    });
    // The join's socket is closed by the gateway 1 s after it opened: during the rotation.
    emulator.faults.setTimings({ maxSocketLifetimeMs: 1000 });
    const { chat, session } = await joinedChat(emulator, client);
    emulator.faults.setTimings({ maxSocketLifetimeMs: 2 * 60 * 60 * 1000 });
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    emulator.faults.subscribeAcks(bot, { drop: 100 }); // every later socket waits for its ack
    const reconnecting = nextEvent(session, 'reconnecting', () => true, 5000);
    await nextEvent(session, 'state', (state) => state === 'rotating', 5000);
    await reconnecting; // the old socket closed mid-rotation: recovery, while the rotation socket subscribes
    // The recovery drops the rotation's socket (stale from then on): only the recovery's is left, subscribing.
    await waitUntil(
      () => {
        const sockets = emulator.sockets(bot);
        // Opened so far: the join's, the rotation's and the recovery's.
        return (
          emulator.gateway.opened.get(session.participantId) === 3 &&
          sockets.length === 1 &&
          !sockets[0]!.subscribed
        );
      },
      "the recovery's socket alone, unsubscribed",
      3000,
    );
    session.close();
    await waitUntil(() => emulator.sockets(bot).length === 0, 'no bot socket left', 500).catch(
      () => undefined,
    );
    expect({ sockets: emulator.sockets(bot).length, tasks: scheduler.size }).toEqual({
      sockets: 0,
      tasks: 0,
    });
  });
});
