import { createServer, type Socket } from 'node:net';
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

  it("a reconnect's socket still opening is cut with the session, not left until openTimeoutMs", async () => {
    // A gateway that takes the TCP connection and never answers the upgrade.
    const held = new Set<Socket>();
    const gateway = createServer((socket) => held.add(socket.resume()));
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    const { port } = gateway.address() as { port: number };
    const scheduler = new Scheduler();
    const { emulator, client, proxy } = await setup({
      proxy: true,
      client: { scheduler, timings: { urlMaxAgeMs: 1, openTimeoutMs: 20_000 } },
    });
    try {
      const { chat, session } = await joinedChat(emulator, client);
      proxy!.edit('/participant/connection', 1, (answer) => {
        (answer.Websocket as { Url: string }).Url = `ws://127.0.0.1:${port}/connect?AuthToken=x`;
      });
      emulator.faults.dropSockets({ contactId: chat.contactId, role: 'CUSTOM_BOT' }, 'abrupt');
      await waitUntil(() => held.size === 1, 'the reconnect at the silent gateway', 5000);
      session.close();
      await waitUntil(() => [...held].every((socket) => socket.closed), 'the half-open connection cut', 3000);
      expect(scheduler.size).toBe(0);
    } finally {
      for (const socket of held) socket.destroy();
      gateway.close();
    }
  });
});

describe('closeAll() while a join waits to retry its first socket', () => {
  it('rejects the join at once, not after the retry delay', async () => {
    const { emulator, client } = await setup({
      client: {
        timings: {
          subscribeAckTimeoutMs: 50,
          subscribeResends: 0,
          reconnectMinDelayMs: 5000,
          reconnectMaxDelayMs: 5000,
        },
      },
    });
    const chat = emulator.startChat();
    emulator.faults.subscribeAcks(undefined, { drop: 1 });
    const joining = client
      .join({ instanceId: emulator.instanceId, contactId: chat.contactId, displayName: 'Bot' })
      .then(
        () => 'joined',
        (error: { code?: string }) => error.code,
      );
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    // The first socket was opened, got no ack, and was dropped: the join now waits 5 s before the next one.
    const opened = () => {
      const id = emulator
        .contact(chat.contactId)
        .participants.find((p) => p.role === 'CUSTOM_BOT')?.participantId;
      return id ? (emulator.gateway.opened.get(id) ?? 0) : 0;
    };
    await waitUntil(() => opened() === 1, 'a first socket', 5000);
    await waitUntil(() => emulator.sockets(bot).length === 0, 'the first socket to be dropped', 5000);
    const closedAt = performance.now();
    client.closeAll();
    expect(await joining).toBe('CB_SESSION_ENDED');
    expect(performance.now() - closedAt).toBeLessThan(1000);
  });
});
