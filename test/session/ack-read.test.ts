import { describe, expect, it } from 'vitest';
import { joinedChat, setup } from '../support/harness.js';
import { nextEvent, waitUntil } from '../support/wait.js';

// Frames that arrive in the same read as the subscribe ack are parsed before the subscribe call returns, so
// before the session has adopted the socket. A typing event is not in the transcript: no back-fill brings it back.
describe('items in the same read as the subscribe acknowledgement', () => {
  it('reach the session after a reconnect: the typing event and the message, in order', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const typing: string[] = [];
    session.on('typing', (item) => typing.push(item.ParticipantRole ?? ''));
    // The typing event came before the message: it is delivered before the message's back-filled copy.
    const order: string[] = [];
    session.on('item', (item) =>
      order.push(item.Type === 'MESSAGE' ? (item.Content ?? '') : (item.ContentType ?? '')),
    );
    emulator.faults.afterNextAck(bot, { typing: true, message: 'right after the ack' });
    emulator.faults.dropSockets(bot, 'abrupt');
    await nextEvent(session, 'state', (state) => state === 'open');
    await recorder.receivedExactlyOnce(['right after the ack']);
    await waitUntil(() => typing.length > 0, 'the typing event sent with the ack', 3000);
    expect(typing).toEqual(['CUSTOMER']);
    expect(order).toEqual(['application/vnd.amazonaws.connect.event.typing', 'right after the ack']);
  });
});

describe('items in the same read as the first subscribe acknowledgement of a join', () => {
  it('are delivered, the typing event before the message', async () => {
    const { emulator, client } = await setup();
    const chat = emulator.startChat();
    client.on('apiCall', (call) => {
      if (call.operation === 'CreateParticipant' && call.outcome === 'ok') {
        emulator.faults.afterNextAck(
          { contactId: chat.contactId, role: 'CUSTOM_BOT' },
          { typing: true, message: 'hello bot' },
        );
      }
    });
    const session = await client.join({
      instanceId: emulator.instanceId,
      contactId: chat.contactId,
      displayName: 'Bot',
    });
    const order: string[] = [];
    session.on('item', (item) =>
      order.push(item.Type === 'MESSAGE' ? (item.Content ?? '') : (item.ContentType ?? '')),
    );
    await waitUntil(() => order.length >= 2, 'the typing event and the message', 3000);
    expect(order).toEqual(['application/vnd.amazonaws.connect.event.typing', 'hello bot']);
  });
});
