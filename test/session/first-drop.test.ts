import { describe, expect, it } from 'vitest';
import { joinedChat, setup } from '../support/harness.js';
import { nextEvent, waitUntil } from '../support/wait.js';

describe('flap backoff', () => {
  it('the first drop after a join (one drop, not a flap) reconnects at once', async () => {
    // A large first backoff makes the flap wait visible: backoff(0) = 2000 x (0.5..1) = 1-2 s.
    const { emulator, client } = await setup({
      client: {
        timings: { reconnectMinDelayMs: 2000, reconnectMaxDelayMs: 4000, heartbeatIntervalMs: 1000 },
      },
    });
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const opened = emulator.gateway.opened.get(session.participantId)!;
    const reconnecting = nextEvent(session, 'reconnecting', () => true, 5000);
    emulator.faults.dropSockets(bot, 'abrupt'); // once, within a heartbeat interval of the join
    await reconnecting;
    const reopenedAt = await waitUntil(
      () => emulator.gateway.opened.get(session.participantId)! > opened,
      'the reconnect socket at the gateway',
      800,
    ).then(
      () => 'soon',
      () => 'waited',
    );
    expect(reopenedAt).toBe('soon');
  });
});
