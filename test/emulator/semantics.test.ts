import {
  CreateParticipantCommand,
  IdempotencyException,
  StartChatContactCommand,
  StopContactCommand,
} from '@aws-sdk/client-connect';
import {
  AccessDeniedException,
  DisconnectParticipantCommand,
  GetTranscriptCommand,
  SendEventCommand,
  SendMessageCommand,
} from '@aws-sdk/client-connectparticipant';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, EVENT, startEmulator } from '../../src/emulator/index.js';
import { chatKit, rejection } from '../support/chat.js';
import { TestSocket } from '../support/ws-client.js';

// The chat rules of protocol.md that are not about encoding, observed through the SDK and bare sockets.

let emulator: Emulator;
let chat: ReturnType<typeof chatKit>;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ timings: { endedSocketGraceMs: 100 } });
  chat = chatKit(emulator);
});
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});
afterAll(() => emulator.close());

async function open(url: string): Promise<TestSocket> {
  const socket = await TestSocket.subscribed(url);
  sockets.push(socket);
  return socket;
}

/** Frames are answered in order: once the ack of a later frame is in, any earlier push would be too. */
async function barrier(socket: TestSocket): Promise<void> {
  const from = socket.frames.length;
  socket.send({ topic: 'aws/subscribe', content: { topics: ['aws/chat'] } });
  await socket.next((f) => f.topic === 'aws/subscribe', 5000, from);
}

describe('tokens', () => {
  it('lets several ConnectionTokens of one participant coexist', async () => {
    const customer = await chat.customer();
    const second = await chat.connectParticipant(customer.participantToken);
    expect(second.token).not.toBe(customer.token);
    const a = await chat.send(customer.token, 'with the first token');
    const b = await chat.send(second.token, 'with the second token');
    const transcript = emulator.transcript(customer.contactId);
    expect(transcript.filter((item) => [a.Id, b.Id].includes(item.Id))).toHaveLength(2);
    expect(transcript.find((item) => item.Id === a.Id)?.ParticipantId).toBe(customer.participantId);
  });
});

describe('ClientToken idempotency', () => {
  it('returns the same Id for a replayed SendMessage and keeps one transcript item', async () => {
    const customer = await chat.customer();
    const send = (content: string) =>
      chat.sdk.participant.send(
        new SendMessageCommand({
          ConnectionToken: customer.token,
          ContentType: 'text/plain',
          Content: content,
          ClientToken: 'retry-me',
        }),
      );
    const first = await send('hello once');
    const replay = await send('hello once');
    expect(replay.Id).toBe(first.Id);
    expect(replay.AbsoluteTime).toBe(first.AbsoluteTime);
    const items = emulator.transcript(customer.contactId).filter((item) => item.Content === 'hello once');
    expect(items).toHaveLength(1);
    // Same token, other content: still the first message (AWS idempotency), nothing new in the transcript.
    expect((await send('something else')).Id).toBe(first.Id);
    expect(emulator.transcript(customer.contactId).some((item) => item.Content === 'something else')).toBe(
      false,
    );
  });

  it('keeps chatjs 5 receipts with one constant ClientToken apart', async () => {
    const customer = await chat.customer();
    const bot = await chat.bot(customer.contactId);
    const first = await chat.send(bot.token, 'one');
    const second = await chat.send(bot.token, 'two');
    const read = (messageId: string) =>
      chat.sdk.participant.send(
        new SendEventCommand({
          ConnectionToken: customer.token,
          ContentType: EVENT.read,
          Content: JSON.stringify({ messageId }),
          ClientToken: 'INCOMING_READ_RECEIPT',
        }),
      );
    const receiptA = await read(first.Id!);
    const receiptB = await read(second.Id!);
    expect(receiptB.Id).not.toBe(receiptA.Id);
    expect((await read(first.Id!)).Id).toBe(receiptA.Id);
    const receipts = emulator
      .transcript(customer.contactId)
      .filter((item) => item.Id === first.Id || item.Id === second.Id)
      .map((item) => item.MessageMetadata?.Receipts);
    expect(receipts).toEqual([
      [{ ReadTimestamp: expect.any(String), RecipientParticipantId: customer.participantId }],
      [{ ReadTimestamp: expect.any(String), RecipientParticipantId: customer.participantId }],
    ]);
  });

  it('returns the same participant for a replayed CreateParticipant, and the same chat for StartChatContact', async () => {
    const customer = await chat.customer();
    const create = (displayName: string) =>
      chat.sdk.connect.send(
        new CreateParticipantCommand({
          InstanceId: emulator.instanceId,
          ContactId: customer.contactId,
          ClientToken: 'bot-once',
          ParticipantDetails: { ParticipantRole: 'CUSTOM_BOT', DisplayName: displayName },
        }),
      );
    const first = await create('Bot');
    const replay = await create('Bot');
    expect(replay.ParticipantId).toBe(first.ParticipantId);
    expect(replay.ParticipantCredentials?.ParticipantToken).toBe(
      first.ParticipantCredentials?.ParticipantToken,
    );
    expect(await rejection(create('Another name'))).toBeInstanceOf(IdempotencyException);
    const bots = emulator.contact(customer.contactId).participants.filter((p) => p.role === 'CUSTOM_BOT');
    expect(bots).toHaveLength(1);

    const start = () =>
      chat.sdk.connect.send(
        new StartChatContactCommand({
          InstanceId: emulator.instanceId,
          ContactFlowId: emulator.contactFlowId,
          ParticipantDetails: { DisplayName: 'Customer' },
          ClientToken: 'start-once',
        }),
      );
    const started = await start();
    expect((await start()).ContactId).toBe(started.ContactId);
  });
});

describe('pushes', () => {
  it('reach every subscribed socket of every participant, the sender included', async () => {
    const customer = await chat.customer();
    const bot = await chat.bot(customer.contactId);
    const customerA = await open(customer.url);
    const customerB = await open((await chat.connectParticipant(customer.participantToken)).url);
    const botSocket = await open(bot.url);
    const sent = await chat.send(bot.token, 'to everyone');
    for (const socket of [customerA, customerB, botSocket]) {
      expect(await socket.nextItem((item) => item.Id === sent.Id)).toMatchObject({
        Content: 'to everyone',
        ParticipantId: bot.participantId,
      });
    }
  });

  it('do not echo typing to its sender', async () => {
    const customer = await chat.customer();
    const bot = await chat.bot(customer.contactId);
    const customerSocket = await open(customer.url);
    const botSocket = await open(bot.url);
    const typing = await chat.sdk.participant.send(
      new SendEventCommand({ ConnectionToken: bot.token, ContentType: EVENT.typing }),
    );
    expect(await customerSocket.nextItem((item) => item.Id === typing.Id)).toMatchObject({
      Type: 'EVENT',
      ContentType: EVENT.typing,
      ParticipantRole: 'CUSTOM_BOT',
    });
    await barrier(botSocket);
    expect(botSocket.items().map((item) => item.ContentType)).not.toContain(EVENT.typing);
    // Typing is pushed, not kept.
    expect(emulator.transcript(customer.contactId).map((item) => item.Id)).not.toContain(typing.Id);
  });

  it('start only after subscribe', async () => {
    const customer = await chat.customer();
    const socket = await TestSocket.open(customer.url);
    sockets.push(socket);
    const early = await chat.send(customer.token, 'before subscribe');
    socket.send({ topic: 'aws/subscribe', content: { topics: ['aws/chat'] } });
    await socket.next((f) => f.topic === 'aws/subscribe');
    const late = await chat.send(customer.token, 'after subscribe');
    await socket.nextItem((item) => item.Id === late.Id);
    expect(socket.items().map((item) => item.Id)).toEqual([late.Id]);
    expect(early.Id).toBeTruthy();
  });

  it('carry joined, left and chat.ended as JSON-string content with both contact ids, also in the transcript', async () => {
    const customer = await chat.customer();
    const customerSocket = await open(customer.url);
    const bot = await chat.bot(customer.contactId);
    const botSocket = await open(bot.url);
    await customerSocket.nextItem(
      (item) => item.ContentType === EVENT.joined && item.ParticipantId === bot.participantId,
    );

    await chat.sdk.participant.send(new DisconnectParticipantCommand({ ConnectionToken: bot.token }));
    // The leaver sees its own participant.left, then its socket closes.
    await botSocket.nextItem(
      (item) => item.ContentType === EVENT.left && item.ParticipantId === bot.participantId,
    );
    expect((await botSocket.waitClosed()).code).toBe(1000);
    await customerSocket.nextItem(
      (item) => item.ContentType === EVENT.left && item.ParticipantId === bot.participantId,
    );
    expect(await rejection(chat.send(bot.token, 'gone'))).toBeInstanceOf(AccessDeniedException);

    const transcript = await chat.sdk.participant.send(
      new GetTranscriptCommand({
        ConnectionToken: customer.token,
        ScanDirection: 'BACKWARD',
        SortOrder: 'ASCENDING',
      }),
    );
    expect(transcript.Transcript!.map((item) => [item.ContentType, item.ParticipantRole])).toEqual([
      [EVENT.joined, 'CUSTOMER'],
      [EVENT.joined, 'CUSTOM_BOT'],
      [EVENT.left, 'CUSTOM_BOT'],
    ]);

    await chat.sdk.connect.send(
      new StopContactCommand({ InstanceId: emulator.instanceId, ContactId: customer.contactId }),
    );
    const ended = await customerSocket.nextItem((item) => item.ContentType === EVENT.chatEnded);
    expect(ended.Type).toBe('EVENT');
    expect(emulator.transcript(customer.contactId).at(-1)?.Id).toBe(ended.Id);

    for (const frame of customerSocket.frames.filter((f) => f.topic === 'aws/chat')) {
      expect(frame.contentType).toBe('application/json');
      expect(typeof frame.content).toBe('string');
      expect(JSON.parse(frame.content as string)).toMatchObject({
        InitialContactId: customer.contactId,
        ContactId: customer.contactId,
        Id: expect.any(String),
        AbsoluteTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      });
    }
    expect(customerSocket.items().map((item) => item.ContentType)).toEqual([
      EVENT.joined,
      EVENT.left,
      EVENT.chatEnded,
    ]);
    expect((await customerSocket.waitClosed()).code).toBe(1000);
    // After the end every token is refused.
    expect(await rejection(chat.send(customer.token, 'after the end'))).toBeInstanceOf(AccessDeniedException);
  });

  it('end the chat with participant.left and chat.ended when the customer disconnects', async () => {
    const customer = await chat.customer();
    const bot = await chat.bot(customer.contactId);
    const botSocket = await open(bot.url);
    await chat.sdk.participant.send(new DisconnectParticipantCommand({ ConnectionToken: customer.token }));
    await botSocket.nextItem(
      (item) => item.ContentType === EVENT.left && item.ParticipantRole === 'CUSTOMER',
    );
    await botSocket.nextItem((item) => item.ContentType === EVENT.chatEnded);
    expect(emulator.contact(customer.contactId).state).toBe('ended');
    expect(await rejection(chat.send(bot.token, 'x'))).toBeInstanceOf(AccessDeniedException);
  });
});
