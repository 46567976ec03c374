import { invalidParameter, invalidRequest, type Service } from './errors.js';
import { Fields } from './fields.js';
import {
  EVENT_CONTENT_TYPES,
  MESSAGE_CONTENT_LIMITS,
  type Participant,
  SUPPORTED_MESSAGING_CONTENT_TYPES,
} from './model.js';
import type { ChatState } from './state.js';
import type { StartPosition, TranscriptCursor } from './transcript.js';

/** How a route authenticates: SigV4 (Connect API), or an `x-amz-bearer` token of one kind (ACPS). */
export type RouteAuth = 'sigv4' | 'participant-token' | 'connection-token';

export interface ApiRequest {
  body: Record<string, unknown>;
  params: Record<string, string>;
  /** The `x-amz-bearer` header value. */
  bearer: string;
  /** Set for `connection-token` routes once the token is verified. */
  participant?: Participant;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  service: Service;
  operation: string;
  auth: RouteAuth;
  handle(request: ApiRequest): unknown;
}

const MESSAGE_TYPES = Object.keys(MESSAGE_CONTENT_LIMITS);

/** Checks a message's ContentType against the allow-list and its Content against the per-type length limit. */
function messageContent(fields: Fields, service: Service): { contentType: string; content: string } {
  const contentType = fields.string('ContentType', { required: true, min: 1, max: 100 });
  if (!MESSAGE_TYPES.includes(contentType)) {
    throw invalidParameter(
      service,
      `ContentType ${contentType} is not supported. Allowed: ${MESSAGE_TYPES.join(', ')}`,
    );
  }
  const content = fields.string('Content', {
    required: true,
    min: 1,
    max: MESSAGE_CONTENT_LIMITS[contentType]!,
  });
  return { contentType, content };
}

function clientToken(fields: Fields): string | undefined {
  return fields.string('ClientToken', { max: 500 });
}

/** The Connect API and Participant Service operations the emulator serves (protocol.md §1, §2). */
export function apiRoutes(state: ChatState): Route[] {
  const connect = (body: Record<string, unknown>) => new Fields(body, 'connect');
  const acps = (body: Record<string, unknown>) => new Fields(body, 'participant');

  return [
    {
      method: 'PUT',
      path: '/contact/chat',
      service: 'connect',
      operation: 'StartChatContact',
      auth: 'sigv4',
      handle({ body }) {
        const f = connect(body);
        state.requireInstance(f.string('InstanceId', { required: true, min: 1, max: 100 }));
        const contactFlowId = f.string('ContactFlowId', { required: true, max: 500 });
        const details = f.object('ParticipantDetails', { required: true });
        const displayName = details.string('DisplayName', { required: true, min: 1, max: 256 });
        const attributes = f.attributes('Attributes');
        const initial = f.object('InitialMessage');
        const initialMessage = initial ? messageContent(initial, 'connect') : undefined;
        const durationMinutes = f.int('ChatDurationInMinutes', { min: 60, max: 10080 });
        const supported = f.list('SupportedMessagingContentTypes', SUPPORTED_MESSAGING_CONTENT_TYPES);
        if (supported && !supported.includes('text/plain')) {
          throw invalidParameter('connect', 'SupportedMessagingContentTypes must include text/plain');
        }
        const { contact, customer } = state.startChat({
          contactFlowId,
          displayName,
          attributes,
          initialMessage,
          durationMinutes,
          clientToken: clientToken(f),
        });
        return {
          ContactId: contact.contactId,
          ParticipantId: customer.participantId,
          ParticipantToken: customer.participantToken,
        };
      },
    },
    {
      method: 'POST',
      path: '/contact/create-participant',
      service: 'connect',
      operation: 'CreateParticipant',
      auth: 'sigv4',
      handle({ body }) {
        const f = connect(body);
        state.requireInstance(f.string('InstanceId', { required: true, min: 1, max: 100 }));
        const contactId = f.string('ContactId', { required: true, min: 1, max: 256 });
        const details = f.object('ParticipantDetails', { required: true });
        const role = details.oneOf('ParticipantRole', [
          'AGENT',
          'CUSTOMER',
          'SYSTEM',
          'CUSTOM_BOT',
          'SUPERVISOR',
        ]);
        if (role !== 'CUSTOM_BOT') {
          throw invalidRequest('connect', 'ParticipantRole must be CUSTOM_BOT for chat contacts');
        }
        const displayName = details.string('DisplayName', { required: true, min: 1, max: 256 });
        const bot = state.createParticipant({ contactId, displayName, clientToken: clientToken(f) });
        const expiry = state.clock.now() + state.timings.connectionTokenTtlMs;
        return {
          ParticipantCredentials: {
            ParticipantToken: bot.participantToken,
            Expiry: new Date(expiry).toISOString(),
          },
          ParticipantId: bot.participantId,
        };
      },
    },
    {
      method: 'POST',
      path: '/contact/attributes',
      service: 'connect',
      operation: 'UpdateContactAttributes',
      auth: 'sigv4',
      handle({ body }) {
        const f = connect(body);
        state.requireInstance(f.string('InstanceId', { required: true, min: 1, max: 100 }));
        const initialContactId = f.string('InitialContactId', { required: true, min: 1, max: 256 });
        state.updateAttributes(initialContactId, f.attributes('Attributes', { required: true })!);
        return {};
      },
    },
    {
      method: 'GET',
      path: '/contact/attributes/{InstanceId}/{InitialContactId}',
      service: 'connect',
      operation: 'GetContactAttributes',
      auth: 'sigv4',
      handle({ params }) {
        state.requireInstance(params.InstanceId!);
        return { Attributes: { ...state.contact(params.InitialContactId!).attributes } };
      },
    },
    {
      method: 'POST',
      path: '/contact/stop',
      service: 'connect',
      operation: 'StopContact',
      auth: 'sigv4',
      handle({ body }) {
        const f = connect(body);
        state.requireInstance(f.string('InstanceId', { required: true, min: 1, max: 100 }));
        state.stopContact(f.string('ContactId', { required: true, min: 1, max: 256 }));
        return {};
      },
    },
    {
      method: 'GET',
      path: '/contacts/{InstanceId}/{ContactId}',
      service: 'connect',
      operation: 'DescribeContact',
      auth: 'sigv4',
      handle({ params }) {
        state.requireInstance(params.InstanceId!);
        const contact = state.contact(params.ContactId!);
        const seconds = (ms: number) => ms / 1000; // Connect Timestamp shapes are epoch seconds (protocol.md §1.1)
        return {
          Contact: {
            Arn: `${state.instanceArn}/contact/${contact.contactId}`,
            Id: contact.contactId,
            InitialContactId: contact.initialContactId,
            InitiationMethod: 'API',
            Channel: 'CHAT',
            InitiationTimestamp: seconds(contact.initiatedAt),
            ...(contact.disconnectedAt !== undefined
              ? { DisconnectTimestamp: seconds(contact.disconnectedAt) }
              : {}),
            LastUpdateTimestamp: seconds(contact.lastUpdatedAt),
            Attributes: { ...contact.attributes },
          },
        };
      },
    },
    {
      method: 'POST',
      path: '/participant/connection',
      service: 'participant',
      operation: 'CreateParticipantConnection',
      auth: 'participant-token',
      handle({ body, bearer }) {
        const f = acps(body);
        const types = f.list('Type', ['WEBSOCKET', 'CONNECTION_CREDENTIALS', 'WEBRTC_CONNECTION'], {
          min: 1,
        });
        const connectParticipant = f.bool('ConnectParticipant') ?? false;
        if (!types && !connectParticipant)
          throw invalidParameter('participant', 'Type or ConnectParticipant is required');
        return state.createConnection(bearer, {
          websocket: types?.includes('WEBSOCKET') ?? false,
          credentials: types?.includes('CONNECTION_CREDENTIALS') ?? false,
          connectParticipant,
        });
      },
    },
    {
      method: 'POST',
      path: '/participant/message',
      service: 'participant',
      operation: 'SendMessage',
      auth: 'connection-token',
      handle({ body, participant }) {
        const f = acps(body);
        return state.sendMessage(participant!, {
          ...messageContent(f, 'participant'),
          clientToken: clientToken(f),
        });
      },
    },
    {
      method: 'POST',
      path: '/participant/event',
      service: 'participant',
      operation: 'SendEvent',
      auth: 'connection-token',
      handle({ body, participant }) {
        const f = acps(body);
        const contentType = f.string('ContentType', { required: true, min: 1, max: 100 });
        if (!(EVENT_CONTENT_TYPES as readonly string[]).includes(contentType)) {
          throw invalidParameter('participant', `ContentType ${contentType} is not a supported event type`);
        }
        const content = f.string('Content', { min: 1, max: 16384 });
        return state.sendEvent(participant!, { contentType, content, clientToken: clientToken(f) });
      },
    },
    {
      method: 'POST',
      path: '/participant/transcript',
      service: 'participant',
      operation: 'GetTranscript',
      auth: 'connection-token',
      handle({ body, participant }) {
        const f = acps(body);
        const contactId = f.string('ContactId', { min: 1, max: 256 });
        const maxResults = f.int('MaxResults', { min: 0, max: 100 }) ?? 10;
        const nextToken = f.string('NextToken', { min: 1, max: 1000 });
        const start = f.object('StartPosition');
        const startPosition = start && !start.isEmpty() ? readStartPosition(start) : undefined;
        const scanDirection =
          f.oneOf('ScanDirection', ['FORWARD', 'BACKWARD']) ?? (startPosition ? 'FORWARD' : 'BACKWARD');
        const sortOrder = f.oneOf('SortOrder', ['ASCENDING', 'DESCENDING']) ?? 'DESCENDING';
        if (scanDirection === 'FORWARD' && !startPosition) {
          // Real service behaviour (chatjs #19): FORWARD needs a StartPosition.
          throw invalidParameter('participant', 'Validation exception due to invalid parameter');
        }
        const chain = participant!.contactId;
        const resume = nextToken ? decodeCursor(nextToken, chain, scanDirection) : undefined;
        const page = state.transcript(participant!, contactId, {
          maxResults,
          scanDirection,
          sortOrder,
          startPosition,
          resume,
        });
        // Checked like any request; then an empty page with a NextToken would make the SDK paginator loop:
        // MaxResults 0 ends the scan.
        if (maxResults === 0) return { InitialContactId: page.initialContactId, Transcript: [] };
        // A fault (repeatNextTokens): the page goes out with the token it was asked with.
        const next = nextToken && state.takeNextTokenRepeat(participant!) ? nextToken : undefined;
        return {
          InitialContactId: page.initialContactId,
          Transcript: page.items,
          ...(next
            ? { NextToken: next }
            : page.next
              ? { NextToken: encodeCursor(page.next, chain, scanDirection) }
              : {}),
        };
      },
    },
    {
      method: 'POST',
      path: '/participant/disconnect',
      service: 'participant',
      operation: 'DisconnectParticipant',
      auth: 'connection-token',
      handle({ participant }) {
        state.disconnect(participant!);
        return {};
      },
    },
  ];
}

function readStartPosition(start: Fields): StartPosition {
  const id = start.string('Id', { min: 1, max: 256 });
  const absoluteTime = start.string('AbsoluteTime', { min: 1, max: 100 });
  const mostRecent = start.int('MostRecent', { min: 0, max: 100 });
  const given = [id, absoluteTime, mostRecent].filter((v) => v !== undefined).length;
  if (given !== 1)
    throw invalidParameter(
      'participant',
      'StartPosition must have exactly one of Id, AbsoluteTime, MostRecent',
    );
  if (id !== undefined) return { Id: id };
  if (absoluteTime !== undefined) {
    if (Number.isNaN(Date.parse(absoluteTime)))
      throw invalidParameter('participant', 'StartPosition.AbsoluteTime is not a valid time');
    return { AbsoluteTime: absoluteTime };
  }
  return { MostRecent: mostRecent! };
}

/** A NextToken: where the scan resumes, for the contact chain and the direction it was issued for. */
function encodeCursor(cursor: TranscriptCursor, chain: string, direction: string): string {
  return Buffer.from(JSON.stringify([cursor.origin, cursor.offset, chain, direction])).toString('base64url');
}

/** Reads a NextToken issued by encodeCursor for this chain and direction; any other is 400 "Invalid NextToken". */
function decodeCursor(token: string, chain: string, direction: string): TranscriptCursor {
  try {
    const [origin, offset, issuedFor, issuedDirection] = JSON.parse(
      Buffer.from(token, 'base64url').toString('utf8'),
    ) as unknown[];
    if (
      Number.isInteger(origin) &&
      (origin as number) >= 0 &&
      Number.isInteger(offset) &&
      (offset as number) >= 0 &&
      issuedFor === chain &&
      issuedDirection === direction
    ) {
      return { origin: origin as number, offset: offset as number };
    }
  } catch {
    // fall through
  }
  throw invalidParameter('participant', 'Invalid NextToken');
}
