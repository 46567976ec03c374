import { SendEventCommand } from '@aws-sdk/client-connectparticipant';
import { describe, expect, it } from 'vitest';
import { awsClients, ChatClient, ContentType, ErrorCode } from '../../src/index.js';
import { chatKit, rejection } from '../support/chat.js';
import { joinedChat, setup } from '../support/harness.js';
import { dummyCredentials } from '../support/sdk.js';
import { nextEvent, waitUntil } from '../support/wait.js';
import { TestSocket } from '../support/ws-client.js';

describe('ChatSession actions', () => {
  it('sends each message content type, and refuses bad input before any call', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    await session.sendMessage('plain by default');
    await session.sendMessage('{"card":1}', { contentType: 'application/json' });
    const sent = emulator
      .transcript(chat.contactId)
      .filter((item) => item.ParticipantId === session.participantId);
    expect(
      sent.filter((item) => item.Type === 'MESSAGE').map((item) => [item.ContentType, item.Content]),
    ).toEqual([
      ['text/plain', 'plain by default'],
      ['application/json', '{"card":1}'],
    ]);

    const calls = emulator.calls.count();
    const refusals = [
      session.sendMessage('x', { contentType: 'text/html' as 'text/plain' }),
      session.sendMessage(''),
      session.sendMessage('x'.repeat(1025)),
      session.sendEvent('read'), // a receipt needs a messageId
    ];
    for (const refused of refusals) {
      expect(await rejection(refused)).toMatchObject({ code: ErrorCode.InvalidArgument });
    }
    expect(emulator.calls.count()).toBe(calls);
  });

  it('refuses a de-duplication window smaller than what a back-fill re-reads', () => {
    for (const dedupeWindow of [0, 15, 16.5]) {
      expect(() => new ChatClient({ region: 'us-east-1', dedupeWindow })).toThrow(
        expect.objectContaining({ code: ErrorCode.InvalidArgument }),
      );
    }
    expect(new ChatClient({ region: 'us-east-1', dedupeWindow: 16 })).toBeInstanceOf(ChatClient);
  });

  it('a caller-supplied ClientToken makes a repeated sendMessage the same message', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const first = await session.sendMessage('only once', { clientToken: 'order-42-reply' });
    const again = await session.sendMessage('only once', { clientToken: 'order-42-reply' });
    expect(again.id).toBe(first.id);
    expect(emulator.transcript(chat.contactId).filter((item) => item.Content === 'only once')).toHaveLength(
      1,
    );
  });

  it("typing and receipts reach the customer's socket, with the receipt's messageId", async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const customerConnection = await chatKit(emulator).connectParticipant(chat.participantToken);
    const customer = await TestSocket.subscribed(customerConnection.url);
    try {
      const message = emulator.say(chat.contactId, 'did you get this?');
      await session.sendEvent('typing');
      await session.sendEvent('delivered', { messageId: message.Id });
      await session.sendEvent('read', { messageId: message.Id });
      const fromBot = (contentType: string) =>
        customer.nextItem(
          (item) => item.ParticipantId === session.participantId && item.ContentType === contentType,
        );
      expect(await fromBot(ContentType.typing)).toBeTruthy();
      for (const receipt of [ContentType.delivered, ContentType.read]) {
        const item = await fromBot(receipt);
        expect(item).toMatchObject({ Type: 'MESSAGEMETADATA', MessageMetadata: { MessageId: message.Id } });
      }
    } finally {
      customer.close();
    }
  });

  it('setAttributes writes to the InitialContactId, where the flow reads them', async () => {
    const { emulator, client } = await setup();
    const first = emulator.startChat();
    // A contact of the same chain (after a transfer): the session knows the chain's first contact.
    const second = emulator.startChat();
    const session = await client.join({
      instanceId: emulator.instanceId,
      contactId: second.contactId,
      initialContactId: first.contactId,
      displayName: 'Bot',
    });
    await session.setAttributes({ intent: 'billing' });
    expect(emulator.contact(first.contactId).attributes).toEqual({ intent: 'billing' });
    expect(emulator.contact(second.contactId).attributes).toEqual({});
  });
});

describe('ChatSession events', () => {
  it("emits participantJoined for a join after the cursor (here the bot's own, on a resume)", async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const snapshot = session.snapshot();
    session.close();
    // Resumed from the chat's first item, the customer's participant.joined: the bot's own join comes after it.
    const [first] = emulator.transcript(chat.contactId);
    const joined: string[] = [];
    client.on('sessionOpened', (opened) =>
      opened.on('participantJoined', (item) => joined.push(`${item.ParticipantRole} ${item.ParticipantId}`)),
    );
    // A hand-made starting point: without the snapshot's ring of recent items, which would count as seen.
    const { recent: _ring, ...identity } = snapshot;
    await client.resume({ ...identity, cursor: first!.Id });
    await waitUntil(() => joined.length === 1, 'the participant.joined after the cursor');
    expect(joined).toEqual([`CUSTOM_BOT ${session.participantId}`]);
  });

  it('emits typing and participantLeft, then ends when an agent takes over', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const seen: string[] = [];
    session.on('typing', (item) => seen.push(`typing ${item.ParticipantRole}`));
    session.on('participantJoined', (item) => seen.push(`joined ${item.ParticipantRole}`));
    session.on('participantLeft', (item) => seen.push(`left ${item.ParticipantRole}`));
    const customer = await chatKit(emulator).connectParticipant(chat.participantToken);
    await chatKit(emulator).sdk.participant.send(
      new SendEventCommand({ ConnectionToken: customer.token, ContentType: ContentType.typing }),
    );
    await waitUntil(() => seen.includes('typing CUSTOMER'), 'the customer typing');
    const ended = nextEvent(session, 'ended');
    emulator.agentJoins(chat.contactId);
    expect((await ended)[0]).toBe('removed');
    // The service removes the bot before the agent's participant.joined, which the bot never sees.
    expect(seen).toEqual(['typing CUSTOMER', 'left CUSTOM_BOT']);
  });

  it('sends aws/ping with every pingEveryHeartbeats-th heartbeat', async () => {
    const { emulator, client } = await setup({
      client: { timings: { heartbeatIntervalMs: 200, pingEveryHeartbeats: 3 } },
    });
    const { chat } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const socket = await waitUntil(
      () => emulator.sockets(bot).find((s) => s.heartbeatsAnswered >= 7),
      '7 heartbeats',
    );
    // Heartbeats 1, 4, 7, ... carry a ping; the one sent with the last answered heartbeat may still be on its way.
    const expected = Math.ceil(socket.heartbeatsAnswered / 3);
    expect([expected - 1, expected]).toContain(socket.pings);
  });
});

describe('shared SDK clients', () => {
  it('one pair per region, endpoint and options; dummy credentials and one attempt per call', async () => {
    const { emulator, client } = await setup();
    const twin = new ChatClient({
      region: emulator.region,
      endpoint: emulator.endpoint,
      credentials: dummyCredentials,
    });
    expect(twin.aws).toBe(client.aws);
    const elsewhere = awsClients({
      region: emulator.region,
      endpoint: 'http://127.0.0.1:9',
      credentials: dummyCredentials,
    });
    expect(elsewhere).not.toBe(client.aws);
    const otherKeys = awsClients({
      region: emulator.region,
      endpoint: emulator.endpoint,
      credentials: { accessKeyId: 'other', secretAccessKey: 'other' },
    });
    expect(otherKeys).not.toBe(client.aws);
    expect(otherKeys.participant).toBe(client.aws.participant); // it has no credentials of its own
    const slower = awsClients({
      ...{ region: emulator.region, endpoint: emulator.endpoint },
      credentials: dummyCredentials,
      requestTimeoutMs: 1,
    });
    expect(slower).not.toBe(client.aws);

    expect(await client.aws.participant.config.credentials()).toMatchObject({ accessKeyId: 'connect-bot' });
    expect(await client.aws.connect.config.maxAttempts()).toBe(1);
    expect(await client.aws.participant.config.maxAttempts()).toBe(1);
    for (const clients of [elsewhere, slower]) {
      clients.connect.destroy();
      clients.participant.destroy();
    }
    otherKeys.connect.destroy();
  });
});
