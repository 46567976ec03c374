import { StartChatContactCommand, UpdateContactAttributesCommand } from '@aws-sdk/client-connect';
import {
  GetTranscriptCommand,
  SendEventCommand,
  ValidationException,
} from '@aws-sdk/client-connectparticipant';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, EVENT, startEmulator } from '../../src/emulator/index.js';
import { chatKit, statusOf } from '../support/chat.js';

let emulator: Emulator;
let chat: ReturnType<typeof chatKit>;
beforeAll(async () => {
  emulator = await startEmulator();
  chat = chatKit(emulator);
});
afterAll(() => emulator.close());

describe('contact attributes', () => {
  // A key of letters, digits, '-' and '_' (protocol.md §1.4): `__proto__` is one. It was answered 200 and lost.
  it('an attribute named __proto__ is kept like any other (UpdateContactAttributes, StartChatContact)', async () => {
    const customer = await chat.customer();
    await chat.sdk.connect.send(
      new UpdateContactAttributesCommand({
        InstanceId: emulator.instanceId,
        InitialContactId: customer.contactId,
        Attributes: Object.fromEntries([
          ['__proto__', 'kept'],
          ['intent', 'billing'],
        ]),
      }),
    );
    expect(Object.entries(emulator.contact(customer.contactId).attributes)).toEqual([
      ['__proto__', 'kept'],
      ['intent', 'billing'],
    ]);
    const started = await chat.sdk.connect.send(
      new StartChatContactCommand({
        InstanceId: emulator.instanceId,
        ContactFlowId: emulator.contactFlowId,
        ParticipantDetails: { DisplayName: 'Customer' },
        Attributes: Object.fromEntries([['__proto__', 'kept']]),
      }),
    );
    expect(Object.entries(emulator.contact(started.ContactId!).attributes)).toEqual([['__proto__', 'kept']]);
  });
});

describe('message receipts', () => {
  // Receipt { DeliveredTimestamp, ReadTimestamp, RecipientParticipantId } (protocol.md §2.11): one per recipient.
  // Every receipt event used to add an entry, so repeated read receipts grew the list without bound.
  it('a message keeps one Receipt per recipient, with the first delivered and read times', async () => {
    const customer = await chat.customer();
    const bot = await chat.bot(customer.contactId);
    const message = await chat.send(bot.token, 'did you read this?');
    for (const contentType of [EVENT.delivered, EVENT.read, EVENT.read]) {
      await chat.sdk.participant.send(
        new SendEventCommand({
          ConnectionToken: customer.token,
          ContentType: contentType,
          Content: JSON.stringify({ messageId: message.Id }),
        }),
      );
    }
    const page = await chat.sdk.participant.send(
      new GetTranscriptCommand({ ConnectionToken: bot.token, MaxResults: 100 }),
    );
    expect(page.Transcript!.find((i) => i.Id === message.Id)!.MessageMetadata?.Receipts).toEqual([
      {
        DeliveredTimestamp: expect.any(String),
        ReadTimestamp: expect.any(String),
        RecipientParticipantId: customer.participantId,
      },
    ]);
  });
});

describe('GetTranscript with MaxResults 0', () => {
  it('is checked like any other: a foreign ContactId or a forged NextToken is still 400', async () => {
    const customer = await chat.customer();
    const other = await chat.customer();
    const outcome = (maxResults: number) =>
      chat.sdk.participant
        .send(
          new GetTranscriptCommand({
            ConnectionToken: customer.token,
            MaxResults: maxResults,
            ContactId: other.contactId,
            NextToken: 'not-a-token-this-emulator-issued',
          }),
        )
        .then(
          (r) => ({ status: r.$metadata.httpStatusCode, name: 'ok' }),
          (e: Error) => ({ status: statusOf(e), name: e.name }),
        );
    const withTen = await outcome(10);
    expect(withTen).toEqual({ status: 400, name: ValidationException.name });
    expect(await outcome(0)).toEqual(withTen); // it was 200
    // Without those, MaxResults 0 is an empty page with no NextToken (a paginator would loop on one).
    const empty = await chat.sdk.participant.send(
      new GetTranscriptCommand({ ConnectionToken: customer.token, MaxResults: 0 }),
    );
    expect({ items: empty.Transcript, next: empty.NextToken }).toEqual({ items: [], next: undefined });
  });
});
