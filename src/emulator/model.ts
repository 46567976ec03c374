/** Wire names and the emulator's in-memory shapes of contacts, participants and chat items. */

export type ParticipantRole = 'AGENT' | 'CUSTOMER' | 'SYSTEM' | 'CUSTOM_BOT' | 'SUPERVISOR';

export const EVENT = {
  typing: 'application/vnd.amazonaws.connect.event.typing',
  joined: 'application/vnd.amazonaws.connect.event.participant.joined',
  left: 'application/vnd.amazonaws.connect.event.participant.left',
  chatEnded: 'application/vnd.amazonaws.connect.event.chat.ended',
  connectionAcknowledged: 'application/vnd.amazonaws.connect.event.connection.acknowledged',
  delivered: 'application/vnd.amazonaws.connect.event.message.delivered',
  read: 'application/vnd.amazonaws.connect.event.message.read',
} as const;

/** SendMessage content types and their per-type Content length limits (protocol.md §2.5). */
export const MESSAGE_CONTENT_LIMITS: Readonly<Record<string, number>> = {
  'text/plain': 1024,
  'text/markdown': 1024,
  'application/json': 12000,
  'application/vnd.amazonaws.connect.message.interactive.response': 12288,
};

/** SendEvent content types (protocol.md §2.6). */
export const EVENT_CONTENT_TYPES = [
  EVENT.typing,
  EVENT.connectionAcknowledged,
  EVENT.delivered,
  EVENT.read,
] as const;

/** StartChatContact's SupportedMessagingContentTypes allow-list. */
export const SUPPORTED_MESSAGING_CONTENT_TYPES = [
  'text/plain',
  'text/markdown',
  'application/json',
  'application/vnd.amazonaws.connect.message.interactive',
  'application/vnd.amazonaws.connect.message.interactive.response',
] as const;

/** A chat item as ACPS returns it in transcripts and pushes it (stringified) over the websocket. */
export interface ChatItem {
  AbsoluteTime: string;
  Content?: string;
  ContentType: string;
  Id: string;
  Type: 'MESSAGE' | 'EVENT' | 'ATTACHMENT' | 'MESSAGEMETADATA' | 'CONNECTION_ACK';
  ParticipantId?: string;
  DisplayName?: string;
  ParticipantRole?: ParticipantRole;
  InitialContactId: string;
  ContactId: string;
  MessageMetadata?: {
    MessageId: string;
    Receipts: Array<{ DeliveredTimestamp?: string; ReadTimestamp?: string; RecipientParticipantId: string }>;
  };
}

export type ParticipantState = 'pending' | 'connected' | 'left';

export interface Participant {
  readonly participantId: string;
  readonly contactId: string;
  readonly role: ParticipantRole;
  readonly displayName: string;
  readonly participantToken: string;
  state: ParticipantState;
  /** Why the participant left, e.g. `disconnected`, `agent-joined`, `connect-window-missed`, `chat-ended`. */
  leftReason?: string;
  readonly createdAt: number;
  /** Connection tokens issued to this participant, with their expiry (ms). Several coexist. */
  readonly connectionTokens: Map<string, number>;
}

export type WaitResult = 'BotParticipantDisconnected' | 'WaitCompleted' | 'ParticipantNotFound';

/** What the simulated contact flow did with this contact (Invoke Lambda, then Wait with participant type Bot). */
export interface FlowOutcome {
  lambda?: {
    status: 'pending' | 'succeeded' | 'failed';
    statusCode?: number;
    response?: unknown;
    error?: string;
  };
  wait: {
    status: 'idle' | 'waiting' | 'done';
    result?: WaitResult;
    /** Contact attributes at the moment the Wait block ended: what the flow branches on. */
    attributes?: Record<string, string>;
    reason?: string;
    endedAt?: string;
  };
}

export interface Contact {
  readonly contactId: string;
  readonly initialContactId: string;
  readonly instanceId: string;
  readonly contactFlowId: string;
  attributes: Record<string, string>;
  state: 'active' | 'ended';
  readonly initiatedAt: number;
  disconnectedAt?: number;
  lastUpdatedAt: number;
  readonly participants: Map<string, Participant>;
  /** The transcript: messages and events (typing and receipts are pushed, not kept), in order. */
  readonly items: ChatItem[];
  readonly flow: FlowOutcome;
}
