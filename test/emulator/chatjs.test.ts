import {
  CreateParticipantCommand,
  StartChatContactCommand,
  StopContactCommand,
} from '@aws-sdk/client-connect';
import {
  CreateParticipantConnectionCommand,
  GetTranscriptCommand,
  SendEventCommand,
  SendMessageCommand,
} from '@aws-sdk/client-connectparticipant';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, EVENT, startEmulator } from '../../src/emulator/index.js';
import { ChatjsCustomer } from '../support/chatjs-customer.js';
import { sdkClients } from '../support/sdk.js';
import { waitUntil } from '../support/wait.js';
import { TestSocket } from '../support/ws-client.js';

// Real amazon-connect-chatjs 5.0.0 customers, one child process each, against the emulator.

let emulator: Emulator;
let sdk: ReturnType<typeof sdkClients>;
const customers: ChatjsCustomer[] = [];
const sockets: TestSocket[] = [];

beforeAll(async () => {
  // A long grace before the emulator closes sockets of an ended chat, so a close seen within seconds is chatjs's own.
  emulator = await startEmulator({ timings: { endedSocketGraceMs: 60_000 } });
  sdk = sdkClients(emulator.endpoint, emulator.region);
});
afterEach(async () => {
  await Promise.all(customers.splice(0).map((customer) => customer.close()));
  for (const socket of sockets.splice(0)) socket.close();
});
afterAll(() => emulator.close());

async function startChat() {
  const started = await sdk.connect.send(
    new StartChatContactCommand({
      InstanceId: emulator.instanceId,
      ContactFlowId: emulator.contactFlowId,
      ParticipantDetails: { DisplayName: 'Casey' },
    }),
  );
  return {
    ContactId: started.ContactId!,
    ParticipantId: started.ParticipantId!,
    ParticipantToken: started.ParticipantToken!,
  };
}

async function connectCustomer(details: Awaited<ReturnType<typeof startChat>>) {
  const customer = await ChatjsCustomer.start();
  customers.push(customer);
  await customer.connect(emulator.endpoint, emulator.region, details);
  await customer.established();
  // chatjs reports the connection once the socket is open; its aws/subscribe may still be on the way.
  await waitUntil(
    () => emulator.sockets(details.ParticipantId).some((socket) => socket.subscribed),
    "chatjs's socket to be subscribed",
  );
  return customer;
}

/** A CUSTOM_BOT created through the real SDK, connected, with its own subscribed websocket. */
async function addBot(contactId: string) {
  const created = await sdk.connect.send(
    new CreateParticipantCommand({
      InstanceId: emulator.instanceId,
      ContactId: contactId,
      ParticipantDetails: { ParticipantRole: 'CUSTOM_BOT', DisplayName: 'Helper Bot' },
    }),
  );
  const connection = await sdk.participant.send(
    new CreateParticipantConnectionCommand({
      ParticipantToken: created.ParticipantCredentials!.ParticipantToken!,
      ConnectParticipant: true,
      Type: ['WEBSOCKET', 'CONNECTION_CREDENTIALS'],
    }),
  );
  const socket = await TestSocket.subscribed(connection.Websocket!.Url!);
  sockets.push(socket);
  return {
    participantId: created.ParticipantId!,
    token: connection.ConnectionCredentials!.ConnectionToken!,
    socket,
  };
}

describe('amazon-connect-chatjs 5.0.0 as the customer', () => {
  it('starts through StartChatContact, talks with a CUSTOM_BOT and ends cleanly on chat.ended', async () => {
    const details = await startChat();
    const customer = await connectCustomer(details);
    const [socket] = emulator.sockets(details.ParticipantId);
    expect(socket).toMatchObject({ subscribed: true });

    // The bot's arrival and its message reach chatjs's onMessage with the ids chatjs filters on.
    const bot = await addBot(details.ContactId);
    const joined = await customer.nextMessage(
      (item) => item.ContentType === EVENT.joined && item.ParticipantRole === 'CUSTOM_BOT',
    );
    expect(joined.ParticipantId).toBe(bot.participantId);
    const greeting = await sdk.participant.send(
      new SendMessageCommand({
        ConnectionToken: bot.token,
        ContentType: 'text/plain',
        Content: 'Hi, I am a bot',
      }),
    );
    const received = await customer.nextMessage((item) => item.Id === greeting.Id);
    expect(received).toMatchObject({
      Type: 'MESSAGE',
      Content: 'Hi, I am a bot',
      ContentType: 'text/plain',
      ParticipantRole: 'CUSTOM_BOT',
      DisplayName: 'Helper Bot',
      InitialContactId: details.ContactId,
      ContactId: details.ContactId,
    });

    // chatjs sends a message: the bot sees it on its socket and in GetTranscript; chatjs gets its echo.
    const sent = await customer.send('I need help with my bill');
    const seen = await bot.socket.nextItem((item) => item.Id === sent.Id);
    expect(seen).toMatchObject({ Content: 'I need help with my bill', ParticipantRole: 'CUSTOMER' });
    await customer.nextMessage((item) => item.Id === sent.Id);

    // Typing both ways: chatjs's reaches the bot's socket, the bot's reaches chatjs's onTyping.
    await customer.sendEvent(EVENT.typing, undefined, true);
    await bot.socket.nextItem(
      (item) => item.ContentType === EVENT.typing && item.ParticipantId === details.ParticipantId,
    );
    await sdk.participant.send(
      new SendEventCommand({ ConnectionToken: bot.token, ContentType: EVENT.typing }),
    );
    const typing = await customer.next((e) => e.name === 'onTyping');
    expect(typing.data).toMatchObject({ ParticipantRole: 'CUSTOM_BOT', ContentType: EVENT.typing });

    const transcript = await sdk.participant.send(
      new GetTranscriptCommand({
        ConnectionToken: bot.token,
        ScanDirection: 'BACKWARD',
        SortOrder: 'ASCENDING',
      }),
    );
    expect(transcript.Transcript!.map((item) => item.Id)).toEqual(
      expect.arrayContaining([greeting.Id, sent.Id]),
    );

    // chatjs subscribed exactly once on its one socket, and fetched connection details exactly once.
    expect(emulator.sockets(details.ParticipantId)).toEqual([
      expect.objectContaining({ connectionId: socket!.connectionId, subscribeFrames: 1 }),
    ]);
    expect(
      emulator.calls.count('CreateParticipantConnection', { participantId: details.ParticipantId }),
    ).toBe(1);

    // The contact stops: chat.ended reaches both sides; chatjs ends and closes its own socket.
    await sdk.connect.send(
      new StopContactCommand({ InstanceId: emulator.instanceId, ContactId: details.ContactId }),
    );
    await customer.next((e) => e.name === 'onEnded');
    expect(customer.messages().at(-1)?.ContentType).toBe(EVENT.chatEnded);
    await bot.socket.nextItem((item) => item.ContentType === EVENT.chatEnded);
    await waitUntil(
      () => emulator.sockets(details.ParticipantId).length === 0,
      'chatjs to close its socket after chat.ended',
      5000,
    );
    expect(customer.named('onConnectionLost')).toEqual([]);
    expect(customer.named('onConnectionBroken')).toEqual([]);
    expect(emulator.gateway.opened.get(details.ParticipantId)).toBe(1);
    expect(
      emulator.calls.count('CreateParticipantConnection', { participantId: details.ParticipantId }),
    ).toBe(1);
  });

  it('ends on its own disconnectParticipant once the server pushes chat.ended', async () => {
    const details = await startChat();
    const customer = await connectCustomer(details);
    const bot = await addBot(details.ContactId);
    await customer.disconnect();
    await customer.next((e) => e.name === 'onEnded');
    const left = await bot.socket.nextItem(
      (item) => item.ContentType === EVENT.left && item.ParticipantId === details.ParticipantId,
    );
    expect(left.ParticipantRole).toBe('CUSTOMER');
    await bot.socket.nextItem((item) => item.ContentType === EVENT.chatEnded);
    expect(emulator.contact(details.ContactId).state).toBe('ended');
  });

  it('keeps one socket with no reconnect churn across 25 s of heartbeats', { timeout: 60_000 }, async () => {
    const details = await startChat();
    const customer = await connectCustomer(details);
    const bot = await addBot(details.ContactId);
    const first = await customer.next((e) => e.name === 'onDeepHeartbeatSuccess');
    const [socket] = emulator.sockets(details.ParticipantId);

    // While the heartbeats run: chatjs 5 sends every read receipt with the same ClientToken
    // ("INCOMING_READ_RECEIPT", probe §4.1 quirk 1); each must still become its own receipt. chatjs
    // throttles receipts to one per 5 s, so the second goes out after the first was seen.
    const messageIds: string[] = [];
    for (const content of ['first', 'second']) {
      const sent = await sdk.participant.send(
        new SendMessageCommand({ ConnectionToken: bot.token, ContentType: 'text/plain', Content: content }),
      );
      await customer.nextMessage((item) => item.Id === sent.Id);
      void customer.sendEvent(EVENT.read, JSON.stringify({ messageId: sent.Id }));
      await bot.socket.nextItem(
        (item) =>
          item.Type === 'MESSAGEMETADATA' &&
          (item.MessageMetadata as { MessageId: string }).MessageId === sent.Id,
        10_000,
      );
      messageIds.push(sent.Id!);
    }
    const receipts = emulator
      .transcript(details.ContactId)
      .filter((item) => messageIds.includes(item.Id))
      .map((item) => item.MessageMetadata?.Receipts.map((r) => r.RecipientParticipantId));
    expect(receipts).toEqual([[details.ParticipantId], [details.ParticipantId]]);

    // A heartbeat reply missed at tick N shows as churn at tick N+1, so watch until a tick ≥ 25 s in.
    await customer.next(
      (e) => e.name === 'onDeepHeartbeatSuccess' && e.at - first.at >= 25_000,
      45_000 - (Date.now() - first.at),
    );
    expect(customer.named('onDeepHeartbeatSuccess').length).toBeGreaterThanOrEqual(4);
    expect(customer.named('onDeepHeartbeatFailure')).toEqual([]);
    expect(customer.named('onConnectionLost')).toEqual([]);
    expect(customer.named('onConnectionBroken')).toEqual([]);
    const now = emulator.sockets(details.ParticipantId);
    expect(now).toHaveLength(1);
    expect(now[0]).toMatchObject({ connectionId: socket!.connectionId, subscribeFrames: 1 });
    expect(now[0]!.heartbeatsAnswered).toBeGreaterThanOrEqual(4);
    expect(emulator.gateway.opened.get(details.ParticipantId)).toBe(1);
    expect(
      emulator.calls.count('CreateParticipantConnection', { participantId: details.ParticipantId }),
    ).toBe(1);
  });
});
