import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UpdateContactAttributesCommand } from '@aws-sdk/client-connect';
import { DisconnectParticipantCommand } from '@aws-sdk/client-connectparticipant';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Emulator,
  type EmulatorOptions,
  EVENT,
  type FlowOutcome,
  startEmulator,
} from '../../src/emulator/index.js';
import { type ChatParticipant, chatKit } from '../support/chat.js';
import { nextEvent } from '../support/wait.js';
import { TestSocket } from '../support/ws-client.js';

// The simulated contact flow: Invoke Lambda (POST to a local "bot host"), then Wait (participant type Bot).

interface Invocation {
  headers: IncomingMessage['headers'];
  event: {
    Name: string;
    Details: { ContactData: Record<string, unknown>; Parameters: Record<string, string> };
  };
}

type Reply = { status: number; body: unknown } | 'never';

/** A bot host on 127.0.0.1 that records each flow-Lambda invocation and answers what the test says. */
class BotHost {
  readonly invocations: Invocation[] = [];
  /** Runs for each invocation; creates the bot, then decides the answer. */
  handler: (invocation: Invocation) => Promise<Reply> = async () => ({
    status: 200,
    body: { status: 'success' },
  });
  private readonly server: Server;

  constructor() {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const invocation: Invocation = {
        headers: req.headers,
        event: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      };
      this.invocations.push(invocation);
      const reply = await this.handler(invocation).catch(
        (error: Error): Reply => ({ status: 599, body: error.message }),
      );
      if (reply === 'never') return; // the flow's Lambda timeout must cut it off
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
    });
  }

  async listen(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/join`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let host: BotHost;
let emulator: Emulator;
let chat: ReturnType<typeof chatKit>;
const sockets: TestSocket[] = [];

beforeEach(async () => {
  host = new BotHost();
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await emulator?.close();
  await host.close();
});

async function start(timings: EmulatorOptions['timings'] = {}): Promise<void> {
  const url = await host.listen();
  emulator = await startEmulator({
    onChatStart: { url, secret: 's3cret', parameters: { bot: 'faq', locale: 'en_US' } },
    timings,
  });
  chat = chatKit(emulator);
}

/** The flow outcome once `done` holds for it, awaited on the state's `outcome` events (no polling). */
async function outcome(contactId: string, done: (o: FlowOutcome) => boolean, timeoutMs = 5000) {
  if (!done(emulator.outcome(contactId))) {
    await nextEvent(
      emulator.state,
      'outcome',
      (contact: { contactId: string }) =>
        contact.contactId === contactId && done(emulator.outcome(contactId)),
      timeoutMs,
    );
  }
  return emulator.outcome(contactId);
}

const waitDone = (o: FlowOutcome) => o.wait.status === 'done';
const lambdaFailed = (o: FlowOutcome) => o.lambda?.status === 'failed';

/** The usual bot host: joins the chat as a CUSTOM_BOT while the Lambda call is open, then says success. */
function joinAsBot(into: { bot?: ChatParticipant }) {
  return async (invocation: Invocation): Promise<Reply> => {
    into.bot = await chat.bot(invocation.event.Details.ContactData.ContactId as string);
    return { status: 200, body: { status: 'success' } };
  };
}

describe('Invoke Lambda', () => {
  it('posts the ContactFlowEvent with the shared secret; the attributes the bot set end the Wait', async () => {
    await start();
    const joined: { bot?: ChatParticipant } = {};
    host.handler = joinAsBot(joined);
    const customer = await chat.startChat('Casey', { lang: 'en' });
    await outcome(customer.contactId, (o) => o.wait.status === 'waiting');

    expect(host.invocations).toHaveLength(1);
    const [{ headers, event }] = host.invocations as [Invocation];
    expect(headers.authorization).toBe('Bearer s3cret');
    expect(headers['content-type']).toBe('application/json');
    expect(event.Name).toBe('ContactFlowEvent');
    expect(event.Details.Parameters).toEqual({ bot: 'faq', locale: 'en_US' });
    expect(event.Details.ContactData).toMatchObject({
      ContactId: customer.contactId,
      InitialContactId: customer.contactId,
      Channel: 'CHAT',
      InstanceARN: `arn:aws:connect:${emulator.region}:123456789012:instance/${emulator.instanceId}`,
      Attributes: { lang: 'en' },
    });
    expect(emulator.outcome(customer.contactId).lambda).toMatchObject({
      status: 'succeeded',
      statusCode: 200,
      response: { status: 'success' },
    });

    const bot = joined.bot!;
    await chat.sdk.connect.send(
      new UpdateContactAttributesCommand({
        InstanceId: emulator.instanceId,
        InitialContactId: customer.contactId,
        Attributes: { intent: 'billing', handoff: 'agent' },
      }),
    );
    await chat.sdk.participant.send(new DisconnectParticipantCommand({ ConnectionToken: bot.token }));
    const result = await outcome(customer.contactId, waitDone);
    expect(result.wait).toMatchObject({
      status: 'done',
      result: 'BotParticipantDisconnected',
      attributes: { lang: 'en', intent: 'billing', handoff: 'agent' },
    });
    // The chat goes on without the bot: the flow decides what is next.
    expect(emulator.contact(customer.contactId).state).toBe('active');
  });

  it('fails when the host answers 500, or something other than success', async () => {
    await start();
    host.handler = async () => ({ status: 500, body: { message: 'boom' } });
    const first = await chat.startChat();
    expect((await outcome(first.contactId, lambdaFailed)).lambda).toMatchObject({
      status: 'failed',
      statusCode: 500,
    });
    host.handler = async () => ({ status: 200, body: { status: 'busy' } });
    const second = await chat.startChat();
    const result = await outcome(second.contactId, lambdaFailed);
    expect(result.lambda).toMatchObject({ status: 'failed', statusCode: 200 });
    // The flow took the error branch: no Wait.
    expect(result.wait.status).toBe('idle');
  });

  it('fails when the host does not answer within lambdaTimeoutMs', async () => {
    await start({ lambdaTimeoutMs: 300 });
    host.handler = async () => 'never';
    const customer = await chat.startChat();
    const result = await outcome(customer.contactId, lambdaFailed);
    expect(result.lambda).toMatchObject({ status: 'failed', error: 'timed out' });
  });
});

describe('Wait (participant type Bot)', () => {
  it('completes with WaitCompleted after waitTimeoutMs and removes the bot', async () => {
    await start({ waitTimeoutMs: 400, endedSocketGraceMs: 50 });
    const joined: { bot?: ChatParticipant } = {};
    host.handler = joinAsBot(joined);
    const customer = await chat.startChat();
    await outcome(customer.contactId, (o) => o.wait.status === 'waiting');
    const botSocket = await TestSocket.subscribed(joined.bot!.url);
    sockets.push(botSocket);
    const result = await outcome(customer.contactId, waitDone);
    expect(result.wait).toMatchObject({ result: 'WaitCompleted' });
    await botSocket.nextItem(
      (item) => item.ContentType === EVENT.left && item.ParticipantId === joined.bot!.participantId,
    );
    expect((await botSocket.waitClosed()).code).toBe(1000);
  });

  it('ends with ParticipantNotFound when no bot is on the contact', async () => {
    await start();
    host.handler = async () => ({ status: 200, body: { status: 'success' } });
    const customer = await chat.startChat();
    const result = await outcome(customer.contactId, waitDone);
    expect(result.lambda?.status).toBe('succeeded');
    expect(result.wait).toMatchObject({ status: 'done', result: 'ParticipantNotFound' });
  });
});
