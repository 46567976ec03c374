import {
  ConflictException,
  ContactNotFoundException,
  CreateParticipantCommand,
  DescribeContactCommand,
  GetContactAttributesCommand,
  InvalidParameterException,
  InvalidRequestException,
  ResourceNotFoundException,
  StartChatContactCommand,
  StopContactCommand,
  ThrottlingException,
  UpdateContactAttributesCommand,
} from '@aws-sdk/client-connect';
import {
  AccessDeniedException,
  CreateParticipantConnectionCommand,
  DisconnectParticipantCommand,
  GetTranscriptCommand,
  InternalServerException,
  type Item,
  ThrottlingException as ParticipantThrottlingException,
  paginateGetTranscript,
  SendEventCommand,
  SendMessageCommand,
  ValidationException,
} from '@aws-sdk/client-connectparticipant';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { sdkClients } from '../support/sdk.js';

let emulator: Emulator;
let connect: ReturnType<typeof sdkClients>['connect'];
let participant: ReturnType<typeof sdkClients>['participant'];

beforeAll(async () => {
  emulator = await startEmulator();
  ({ connect, participant } = sdkClients(emulator.endpoint));
});
afterAll(() => emulator.close());

async function startChat(attributes: Record<string, string> = {}) {
  const started = await connect.send(
    new StartChatContactCommand({
      InstanceId: emulator.instanceId,
      ContactFlowId: emulator.contactFlowId,
      ParticipantDetails: { DisplayName: 'Customer' },
      Attributes: attributes,
    }),
  );
  const customer = await participant.send(
    new CreateParticipantConnectionCommand({
      ParticipantToken: started.ParticipantToken!,
      Type: ['WEBSOCKET', 'CONNECTION_CREDENTIALS'],
    }),
  );
  return { started, customerToken: customer.ConnectionCredentials!.ConnectionToken! };
}

async function addBot(contactId: string) {
  const created = await connect.send(
    new CreateParticipantCommand({
      InstanceId: emulator.instanceId,
      ContactId: contactId,
      ParticipantDetails: { ParticipantRole: 'CUSTOM_BOT', DisplayName: 'Bot' },
    }),
  );
  const connection = await participant.send(
    new CreateParticipantConnectionCommand({
      ParticipantToken: created.ParticipantCredentials!.ParticipantToken!,
      ConnectParticipant: true,
      Type: ['WEBSOCKET', 'CONNECTION_CREDENTIALS'],
    }),
  );
  return { created, connection, token: connection.ConnectionCredentials!.ConnectionToken! };
}

describe('Connect API through @aws-sdk/client-connect', () => {
  it('round-trips StartChatContact, CreateParticipant, attributes, DescribeContact and StopContact', async () => {
    const { started } = await startChat({ lang: 'en' });
    expect(started.ContactId).toBeTruthy();
    expect(started.ParticipantId).toBeTruthy();
    expect(started.$metadata.httpStatusCode).toBe(200);
    expect(started.$metadata.requestId).toBeTruthy();

    const { created, connection } = await addBot(started.ContactId!);
    expect(created.ParticipantId).toBeTruthy();
    expect(Date.parse(created.ParticipantCredentials!.Expiry!)).toBeGreaterThan(Date.now());
    expect(connection.Websocket!.Url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\//);
    expect(Date.parse(connection.Websocket!.ConnectionExpiry!)).toBeGreaterThan(Date.now());
    expect(Date.parse(connection.ConnectionCredentials!.Expiry!)).toBeGreaterThan(Date.now() + 60_000);

    await connect.send(
      new UpdateContactAttributesCommand({
        InstanceId: emulator.instanceId,
        InitialContactId: started.ContactId!,
        Attributes: { intent: 'billing' },
      }),
    );
    const attributes = await connect.send(
      new GetContactAttributesCommand({
        InstanceId: emulator.instanceId,
        InitialContactId: started.ContactId!,
      }),
    );
    expect(attributes.Attributes).toEqual({ lang: 'en', intent: 'billing' });

    const described = await connect.send(
      new DescribeContactCommand({ InstanceId: emulator.instanceId, ContactId: started.ContactId! }),
    );
    expect(described.Contact?.Channel).toBe('CHAT');
    expect(described.Contact?.InitialContactId).toBe(started.ContactId);
    // Epoch-seconds numbers on the wire become Dates in the SDK.
    expect(described.Contact?.InitiationTimestamp).toBeInstanceOf(Date);
    expect(Math.abs(described.Contact!.InitiationTimestamp!.getTime() - Date.now())).toBeLessThan(10_000);

    await connect.send(
      new StopContactCommand({ InstanceId: emulator.instanceId, ContactId: started.ContactId! }),
    );
    const stopped = await connect.send(
      new DescribeContactCommand({ InstanceId: emulator.instanceId, ContactId: started.ContactId! }),
    );
    expect(stopped.Contact?.DisconnectTimestamp).toBeInstanceOf(Date);
  });

  it('maps every Connect error to the SDK exception class and status', async () => {
    const cases: Array<[Promise<unknown>, new (...args: never[]) => Error, number]> = [
      [
        connect.send(
          new StartChatContactCommand({
            InstanceId: 'no-such-instance',
            ContactFlowId: emulator.contactFlowId,
            ParticipantDetails: { DisplayName: 'x' },
          }),
        ),
        ResourceNotFoundException,
        404,
      ],
      [
        connect.send(
          new StartChatContactCommand({
            InstanceId: emulator.instanceId,
            ContactFlowId: emulator.contactFlowId,
            ParticipantDetails: { DisplayName: 'x'.repeat(257) },
          }),
        ),
        InvalidParameterException,
        400,
      ],
      [
        connect.send(new StopContactCommand({ InstanceId: emulator.instanceId, ContactId: 'missing' })),
        ContactNotFoundException,
        410,
      ],
      [
        connect.send(
          new CreateParticipantCommand({
            InstanceId: emulator.instanceId,
            ContactId: 'missing',
            ParticipantDetails: { ParticipantRole: 'CUSTOM_BOT', DisplayName: 'Bot' },
          }),
        ),
        ResourceNotFoundException,
        404,
      ],
    ];
    for (const [call, type, status] of cases) {
      const error = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(type);
      expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(status);
    }

    const { started } = await startChat();
    const agentOnly = connect.send(
      new CreateParticipantCommand({
        InstanceId: emulator.instanceId,
        ContactId: started.ContactId!,
        ParticipantDetails: { ParticipantRole: 'AGENT', DisplayName: 'Agent' },
      }),
    );
    await expect(agentOnly).rejects.toBeInstanceOf(InvalidRequestException);

    await addBot(started.ContactId!);
    const secondBot = connect.send(
      new CreateParticipantCommand({
        InstanceId: emulator.instanceId,
        ContactId: started.ContactId!,
        ParticipantDetails: { ParticipantRole: 'CUSTOM_BOT', DisplayName: 'Bot 2' },
      }),
    );
    await expect(secondBot).rejects.toBeInstanceOf(ConflictException);
    await expect(secondBot).rejects.toMatchObject({ $metadata: { httpStatusCode: 409 } });

    emulator.faults.failNext('DescribeContact', { status: 429 });
    const throttled = connect.send(
      new DescribeContactCommand({ InstanceId: emulator.instanceId, ContactId: started.ContactId! }),
    );
    await expect(throttled).rejects.toBeInstanceOf(ThrottlingException);
  });
});

describe('Participant Service through @aws-sdk/client-connectparticipant', () => {
  it('round-trips SendMessage, SendEvent, GetTranscript and DisconnectParticipant', async () => {
    const { started, customerToken } = await startChat();
    const { token } = await addBot(started.ContactId!);

    const sent = await participant.send(
      new SendMessageCommand({ ConnectionToken: token, ContentType: 'text/markdown', Content: '**Hello**' }),
    );
    expect(sent.Id).toBeTruthy();
    expect(sent.AbsoluteTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const json = await participant.send(
      new SendMessageCommand({ ConnectionToken: token, ContentType: 'application/json', Content: '{"a":1}' }),
    );
    const typing = await participant.send(
      new SendEventCommand({
        ConnectionToken: token,
        ContentType: 'application/vnd.amazonaws.connect.event.typing',
      }),
    );
    expect(typing.Id).toBeTruthy();
    const read = await participant.send(
      new SendEventCommand({
        ConnectionToken: customerToken,
        ContentType: 'application/vnd.amazonaws.connect.event.message.read',
        Content: JSON.stringify({ messageId: sent.Id }),
      }),
    );
    expect(read.Id).toBeTruthy();

    const transcript = await participant.send(
      new GetTranscriptCommand({ ConnectionToken: token, ScanDirection: 'BACKWARD', SortOrder: 'ASCENDING' }),
    );
    expect(transcript.InitialContactId).toBe(started.ContactId);
    const ids = transcript.Transcript!.map((item) => item.Id);
    expect(ids).toContain(sent.Id);
    expect(ids).toContain(json.Id);
    expect(ids).not.toContain(typing.Id); // typing is pushed, not kept
    const message = transcript.Transcript!.find((item) => item.Id === sent.Id)!;
    expect(message).toMatchObject({
      Type: 'MESSAGE',
      ContentType: 'text/markdown',
      ParticipantRole: 'CUSTOM_BOT',
    });
    expect(message.MessageMetadata?.Receipts?.[0]?.ReadTimestamp).toBeTruthy();
    const joined = transcript.Transcript!.filter(
      (item) => item.ContentType === 'application/vnd.amazonaws.connect.event.participant.joined',
    );
    expect(joined.map((item) => item.ParticipantRole)).toEqual(['CUSTOMER', 'CUSTOM_BOT']);

    const disconnected = await participant.send(new DisconnectParticipantCommand({ ConnectionToken: token }));
    expect(disconnected.$metadata.httpStatusCode).toBe(200);
    expect(emulator.outcome(started.ContactId!).wait.result).toBe('BotParticipantDisconnected');
  });

  it('maps every Participant Service error to the SDK exception class and status', async () => {
    const { started, customerToken } = await startChat();
    const { token } = await addBot(started.ContactId!);
    const expectError = async (
      call: Promise<unknown>,
      type: new (...args: never[]) => Error,
      status: number,
    ) => {
      const error = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(type);
      expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(status);
    };
    await expectError(
      participant.send(
        new SendMessageCommand({ ConnectionToken: 'bogus', ContentType: 'text/plain', Content: 'x' }),
      ),
      AccessDeniedException,
      403,
    );
    await expectError(
      participant.send(
        new SendMessageCommand({
          ConnectionToken: token,
          ContentType: 'text/plain',
          Content: 'x'.repeat(1025),
        }),
      ),
      ValidationException,
      400,
    );
    await expectError(
      participant.send(
        new SendMessageCommand({ ConnectionToken: token, ContentType: 'image/png', Content: 'x' }),
      ),
      ValidationException,
      400,
    );
    await expectError(
      participant.send(new GetTranscriptCommand({ ConnectionToken: token, ScanDirection: 'FORWARD' })),
      ValidationException,
      400,
    );
    await expectError(
      participant.send(new GetTranscriptCommand({ ConnectionToken: token, MaxResults: 101 })),
      ValidationException,
      400,
    );
    emulator.faults.failNext('SendMessage', { status: 429 });
    await expectError(
      participant.send(
        new SendMessageCommand({ ConnectionToken: token, ContentType: 'text/plain', Content: 'x' }),
      ),
      ParticipantThrottlingException,
      429,
    );
    emulator.faults.failNext('SendEvent', { status: 500 });
    await expectError(
      participant.send(
        new SendEventCommand({
          ConnectionToken: token,
          ContentType: 'application/vnd.amazonaws.connect.event.typing',
        }),
      ),
      InternalServerException,
      500,
    );
    // A ParticipantToken is not a ConnectionToken, and vice versa.
    const participantToken = emulator.state
      .contact(started.ContactId!)
      .participants.get(started.ParticipantId!)!.participantToken;
    await expectError(
      participant.send(
        new SendMessageCommand({
          ConnectionToken: participantToken,
          ContentType: 'text/plain',
          Content: 'x',
        }),
      ),
      AccessDeniedException,
      403,
    );
    await expectError(
      participant.send(
        new CreateParticipantConnectionCommand({ ParticipantToken: customerToken, Type: ['WEBSOCKET'] }),
      ),
      AccessDeniedException,
      403,
    );
    // After the chat ends every token is refused.
    emulator.endChat(started.ContactId!, 'system');
    await expectError(
      participant.send(
        new SendMessageCommand({ ConnectionToken: token, ContentType: 'text/plain', Content: 'x' }),
      ),
      AccessDeniedException,
      403,
    );
    await expectError(
      participant.send(
        new CreateParticipantConnectionCommand({ ParticipantToken: participantToken, Type: ['WEBSOCKET'] }),
      ),
      AccessDeniedException,
      403,
    );
  });

  it('walks a long transcript with paginateGetTranscript in both directions', async () => {
    const { started } = await startChat();
    const { token } = await addBot(started.ContactId!);
    const sentIds: string[] = [];
    for (let i = 0; i < 57; i++) {
      const sent = await participant.send(
        new SendMessageCommand({
          ConnectionToken: token,
          ContentType: 'text/plain',
          Content: `message ${i}`,
        }),
      );
      sentIds.push(sent.Id!);
    }
    const all = emulator.transcript(started.ContactId!).map((item) => item.Id);
    expect(all.length).toBe(57 + 2); // + customer joined + bot joined

    const forward: Item[] = [];
    for await (const page of paginateGetTranscript(
      { client: participant, pageSize: 10 },
      {
        ConnectionToken: token,
        ScanDirection: 'FORWARD',
        SortOrder: 'ASCENDING',
        StartPosition: { Id: all[0] },
      },
    )) {
      expect(page.Transcript!.length).toBeLessThanOrEqual(10);
      forward.push(...page.Transcript!);
    }
    expect(forward.map((item) => item.Id)).toEqual(all);

    const backward: Item[] = [];
    let pages = 0;
    for await (const page of paginateGetTranscript(
      { client: participant, pageSize: 7 },
      { ConnectionToken: token, ScanDirection: 'BACKWARD', SortOrder: 'DESCENDING' },
    )) {
      pages++;
      backward.push(...page.Transcript!);
    }
    expect(pages).toBe(Math.ceil(all.length / 7));
    expect(backward.map((item) => item.Id)).toEqual([...all].reverse());

    // FORWARD from an Id includes that item; MostRecent counts back from the newest item.
    const fromMiddle = await participant.send(
      new GetTranscriptCommand({
        ConnectionToken: token,
        ScanDirection: 'FORWARD',
        SortOrder: 'ASCENDING',
        StartPosition: { Id: sentIds[50] },
        MaxResults: 100,
      }),
    );
    expect(fromMiddle.Transcript!.map((item) => item.Id)).toEqual(sentIds.slice(50));
    const latestThree = await participant.send(
      new GetTranscriptCommand({
        ConnectionToken: token,
        ScanDirection: 'FORWARD',
        SortOrder: 'ASCENDING',
        StartPosition: { MostRecent: 2 },
      }),
    );
    expect(latestThree.Transcript!.map((item) => item.Id)).toEqual(sentIds.slice(-3));
    const byTime = await participant.send(
      new GetTranscriptCommand({
        ConnectionToken: token,
        ScanDirection: 'BACKWARD',
        SortOrder: 'ASCENDING',
        StartPosition: { AbsoluteTime: new Date(Date.now() + 60_000).toISOString() },
        MaxResults: 3,
      }),
    );
    expect(byTime.Transcript!.map((item) => item.Id)).toEqual(sentIds.slice(-3));
  });
});
