import { CreateParticipantCommand, StartChatContactCommand } from '@aws-sdk/client-connect';
import {
  CreateParticipantConnectionCommand,
  type CreateParticipantConnectionResponse,
  SendMessageCommand,
} from '@aws-sdk/client-connectparticipant';
import type { Emulator } from '../../src/emulator/index.js';
import { sdkClients } from './sdk.js';

export interface Connection {
  /** The ConnectionToken. */
  token: string;
  /** The websocket URL. */
  url: string;
  response: CreateParticipantConnectionResponse;
}

export interface ChatParticipant extends Connection {
  contactId: string;
  participantId: string;
  participantToken: string;
}

/**
 * Short-hands over the real SDK clients for tests that need a chat with a customer and a CUSTOM_BOT.
 *
 * @example
 * const chat = chatKit(emulator);
 * const customer = await chat.customer();
 * const bot = await chat.bot(customer.contactId);
 */
export function chatKit(emulator: Emulator, maxAttempts = 1) {
  const sdk = sdkClients(emulator.endpoint, emulator.region, maxAttempts);

  async function connectParticipant(
    participantToken: string,
    connectParticipant = false,
  ): Promise<Connection> {
    const response = await sdk.participant.send(
      new CreateParticipantConnectionCommand({
        ParticipantToken: participantToken,
        Type: ['WEBSOCKET', 'CONNECTION_CREDENTIALS'],
        ...(connectParticipant ? { ConnectParticipant: true } : {}),
      }),
    );
    return {
      token: response.ConnectionCredentials!.ConnectionToken!,
      url: response.Websocket!.Url!,
      response,
    };
  }

  /** StartChatContact only: the customer's participant credentials, not yet connected. */
  async function startChat(displayName = 'Customer', attributes?: Record<string, string>) {
    const started = await sdk.connect.send(
      new StartChatContactCommand({
        InstanceId: emulator.instanceId,
        ContactFlowId: emulator.contactFlowId,
        ParticipantDetails: { DisplayName: displayName },
        ...(attributes ? { Attributes: attributes } : {}),
      }),
    );
    return {
      contactId: started.ContactId!,
      participantId: started.ParticipantId!,
      participantToken: started.ParticipantToken!,
    };
  }

  /** StartChatContact + CreateParticipantConnection for the customer. */
  async function customer(displayName = 'Customer'): Promise<ChatParticipant> {
    const started = await startChat(displayName);
    return { ...started, ...(await connectParticipant(started.participantToken)) };
  }

  /** CreateParticipant (CUSTOM_BOT) without connecting it. */
  async function createBot(contactId: string, displayName = 'Bot') {
    const created = await sdk.connect.send(
      new CreateParticipantCommand({
        InstanceId: emulator.instanceId,
        ContactId: contactId,
        ParticipantDetails: { ParticipantRole: 'CUSTOM_BOT', DisplayName: displayName },
      }),
    );
    return {
      contactId,
      participantId: created.ParticipantId!,
      participantToken: created.ParticipantCredentials!.ParticipantToken!,
    };
  }

  /** CreateParticipant (CUSTOM_BOT) + CreateParticipantConnection with ConnectParticipant. */
  async function bot(contactId: string, displayName = 'Bot'): Promise<ChatParticipant> {
    const created = await createBot(contactId, displayName);
    return { ...created, ...(await connectParticipant(created.participantToken, true)) };
  }

  function send(token: string, content: string, contentType = 'text/plain') {
    return sdk.participant.send(
      new SendMessageCommand({ ConnectionToken: token, ContentType: contentType, Content: content }),
    );
  }

  return { sdk, startChat, customer, createBot, bot, connectParticipant, send };
}

/** Resolves to the error a promise rejects with (fails if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** The HTTP status the SDK saw for an error. */
export function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}
