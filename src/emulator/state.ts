import { EventEmitter } from 'node:events';
import { type Clock, type IdGenerator, isoTime, newSecret } from './clock.js';
import {
  ApiError,
  accessDenied,
  conflict,
  invalidParameter,
  invalidRequest,
  resourceNotFound,
} from './errors.js';
import {
  type ChatItem,
  type Contact,
  EVENT,
  type Participant,
  type ParticipantRole,
  type WaitResult,
} from './model.js';
import {
  InvalidNextToken,
  pageTranscript,
  StartPositionNotFound,
  type TranscriptPage,
  type TranscriptQuery,
} from './transcript.js';

/** Every lifetime and window the emulator enforces. All can be shortened so tests run in seconds. */
export interface Timings {
  /** A CUSTOM_BOT must call CreateParticipantConnection with ConnectParticipant within this (15 s). */
  botConnectWindowMs: number;
  /** A websocket URL can be opened only this long after it was issued (100 s). */
  websocketUrlTtlMs: number;
  /** ConnectionCredentials.Expiry: a ConnectionToken lives this long (1 day). */
  connectionTokenTtlMs: number;
  /** Websocket.ConnectionExpiry advertised in CreateParticipantConnection (about 1 h). */
  connectionExpiryMs: number;
  /** The gateway closes any socket this long after it opened (2 h, the API Gateway maximum). */
  maxSocketLifetimeMs: number;
  /** The gateway closes a socket that sent nothing for this long (10 min, the API Gateway idle limit). */
  idleSocketTimeoutMs: number;
  /** After a participant leaves or the chat ends, its sockets are closed (code 1000) this much later. */
  endedSocketGraceMs: number;
  /** The flow's Wait block (participant type Bot) ends with WaitCompleted after this long (900 s). */
  waitTimeoutMs: number;
  /** The flow's Invoke Lambda block gives up after this long (8 s, the Connect maximum). */
  lambdaTimeoutMs: number;
}

/** The longest timer Node arms (about 24.8 days): a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Why `timings` cannot be used, or undefined: each must be a whole number of ms from 1 (`endedSocketGraceMs`
 * from 0) to {@link MAX_TIMER_MS}, as the HTTP control route checks too.
 */
export function timingsProblem(timings: Partial<Timings>): string | undefined {
  for (const [name, value] of Object.entries(timings)) {
    const min = name === 'endedSocketGraceMs' ? 0 : 1;
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > MAX_TIMER_MS)
      return `timings.${name} must be a whole number of ms from ${min} to ${MAX_TIMER_MS}`;
  }
  return undefined;
}

export const DEFAULT_TIMINGS: Readonly<Timings> = {
  botConnectWindowMs: 15_000,
  websocketUrlTtlMs: 100_000,
  connectionTokenTtlMs: 24 * 60 * 60 * 1000,
  connectionExpiryMs: 60 * 60 * 1000,
  maxSocketLifetimeMs: 2 * 60 * 60 * 1000,
  idleSocketTimeoutMs: 10 * 60 * 1000,
  endedSocketGraceMs: 1000,
  waitTimeoutMs: 900_000,
  lambdaTimeoutMs: 8000,
};

/** What the state needs from the websocket gateway. */
export interface PushTarget {
  push(participant: Participant, frame: string): void;
  closeSockets(participant: Participant, afterMs: number): void;
  /** The participant's contact was forgotten (see {@link MAX_ENDED_CONTACTS}): drop what is kept for it. */
  forget(participant: Participant): void;
}

/** Ended contacts kept for inspection (transcript, outcome, views); the oldest beyond this are forgotten. */
export const MAX_ENDED_CONTACTS = 10_000;

export interface StateEvents {
  item: [contact: Contact, item: ChatItem];
  participant: [contact: Contact, participant: Participant];
  contactStarted: [contact: Contact];
  contactEnded: [contact: Contact];
  /** The contact's flow outcome changed: the Invoke Lambda block finished, or the Wait block started or ended. */
  outcome: [contact: Contact];
}

export interface InstanceInfo {
  instanceId: string;
  contactFlowId: string;
  region: string;
  accountId: string;
}

interface Internal {
  idempotency: Map<string, unknown>;
  timers: Set<ReturnType<Clock['setTimeout']>>;
  lastItemAt: number;
}

const IDEMPOTENCY_CACHE_LIMIT = 10_000;

/** See {@link ChatState.malformExpiries}. */
export interface ExpiryFault {
  /** `ConnectionCredentials.Expiry` to hand out; `null` omits it. */
  expiry?: string | null;
  /** `Websocket.ConnectionExpiry` to hand out; `null` omits it. */
  connectionExpiry?: string | null;
  /** `null` omits `ConnectionCredentials.ConnectionToken` (the token is still issued and valid). */
  connectionToken?: null;
  /** How many responses carry it. */
  count: number;
}

/**
 * The stateful heart of the emulator: contacts, participants, tokens and transcripts, and every rule of
 * protocol.md that is not about encoding. HTTP handlers and the websocket gateway call into it.
 */
export class ChatState extends EventEmitter<StateEvents> {
  readonly contacts = new Map<string, Contact>();
  /** Ended contacts, oldest first: the bound on what a long-lived emulator keeps. */
  private readonly ended: string[] = [];
  private readonly internal = new WeakMap<Contact, Internal>();
  private readonly participantTokens = new Map<string, Participant>();
  private readonly connectionTokens = new Map<string, Participant>();
  private readonly websocketTokens = new Map<string, { participant: Participant; issuedAt: number }>();
  private readonly startTokens = new Map<
    string,
    { contactId: string; participantId: string; token: string }
  >();
  target: PushTarget | undefined;
  /** Expiry values to hand out instead of the real ones, per participant (a fault knob). */
  private readonly expiryFaults = new Map<string, ExpiryFault>();
  /** Participant id → GetTranscript answers left that repeat the request's NextToken (see repeatNextTokens). */
  private readonly nextTokenRepeats = new Map<string, number>();

  constructor(
    readonly info: InstanceInfo,
    readonly clock: Clock,
    readonly ids: IdGenerator,
    readonly timings: Timings,
    readonly websocketBase: () => string,
  ) {
    super();
  }

  get instanceArn(): string {
    return `arn:aws:connect:${this.info.region}:${this.info.accountId}:instance/${this.info.instanceId}`;
  }

  requireInstance(instanceId: string): void {
    if (instanceId !== this.info.instanceId) {
      throw resourceNotFound(`Instance ${instanceId} not found`, 'INSTANCE', instanceId);
    }
  }

  contact(contactId: string): Contact {
    const contact = this.contacts.get(contactId);
    if (!contact) throw resourceNotFound(`Contact ${contactId} not found`, 'CONTACT', contactId);
    return contact;
  }

  // ---- Connect API -------------------------------------------------------------------------------

  startChat(input: {
    contactFlowId: string;
    displayName: string;
    attributes?: Record<string, string>;
    initialMessage?: { contentType: string; content: string };
    durationMinutes?: number;
    clientToken?: string;
  }): { contact: Contact; customer: Participant } {
    if (input.contactFlowId !== this.info.contactFlowId) {
      throw resourceNotFound(
        `Contact flow ${input.contactFlowId} not found`,
        'CONTACT_FLOW',
        input.contactFlowId,
      );
    }
    if (input.clientToken) {
      const previous = this.startTokens.get(input.clientToken);
      const contact = previous && this.contacts.get(previous.contactId);
      if (previous && contact) {
        return { contact, customer: contact.participants.get(previous.participantId)! };
      }
    }
    const now = this.clock.now();
    const contactId = this.ids('contact');
    const contact: Contact = {
      contactId,
      initialContactId: contactId,
      instanceId: this.info.instanceId,
      contactFlowId: input.contactFlowId,
      attributes: { ...input.attributes },
      state: 'active',
      initiatedAt: now,
      lastUpdatedAt: now,
      participants: new Map(),
      items: [],
      flow: { wait: { status: 'idle' } },
    };
    this.contacts.set(contactId, contact);
    this.internal.set(contact, { idempotency: new Map(), timers: new Set(), lastItemAt: 0 });
    const customer = this.addParticipant(contact, 'CUSTOMER', input.displayName, 'connected');
    if (input.clientToken) {
      remember(this.startTokens, input.clientToken, {
        contactId,
        participantId: customer.participantId,
        token: '',
      });
    }
    this.appendEvent(contact, customer, EVENT.joined);
    if (input.initialMessage) {
      this.appendItem(contact, customer, {
        Type: 'MESSAGE',
        ContentType: input.initialMessage.contentType,
        Content: input.initialMessage.content,
      });
    }
    const duration = (input.durationMinutes ?? 25 * 60) * 60_000;
    this.schedule(contact, duration, () => this.endContact(contact, 'chat-duration-elapsed'));
    this.emit('contactStarted', contact);
    return { contact, customer };
  }

  createParticipant(input: { contactId: string; displayName: string; clientToken?: string }): Participant {
    const contact = this.contact(input.contactId);
    const idempotency = this.internalOf(contact).idempotency;
    const key = input.clientToken ? `create-participant/${input.clientToken}` : undefined;
    if (key) {
      const previous = idempotency.get(key) as { participant: Participant; displayName: string } | undefined;
      if (previous) {
        if (previous.displayName !== input.displayName) {
          throw new ApiError('IdempotencyException', 409, 'ClientToken was reused with different parameters');
        }
        return previous.participant;
      }
    }
    if (contact.state !== 'active')
      throw invalidRequest('connect', `Contact ${contact.contactId} is not active`);
    const present = [...contact.participants.values()].filter((p) => p.state !== 'left');
    if (present.some((p) => p.role === 'CUSTOM_BOT')) {
      throw conflict('A custom participant is already present on this contact');
    }
    if (present.some((p) => p.role === 'AGENT')) {
      throw conflict('A custom participant cannot be added while an agent is present on the contact');
    }
    const bot = this.addParticipant(contact, 'CUSTOM_BOT', input.displayName, 'pending');
    if (key) remember(idempotency, key, { participant: bot, displayName: input.displayName });
    // A CUSTOM_BOT that does not connect in time is removed (DOC-CUSTOM).
    this.schedule(contact, this.timings.botConnectWindowMs, () => {
      if (bot.state === 'pending') this.removeParticipant(contact, bot, 'connect-window-missed', false);
    });
    this.emit('participant', contact, bot);
    return bot;
  }

  updateAttributes(initialContactId: string, attributes: Record<string, string>): void {
    const contact = this.contact(initialContactId);
    const merged = { ...contact.attributes, ...attributes };
    const total = Object.entries(merged).reduce(
      (sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v),
      0,
    );
    if (total > 32768) throw invalidParameter('connect', 'Attributes must not exceed 32768 bytes in total');
    contact.attributes = merged;
    contact.lastUpdatedAt = this.clock.now();
  }

  stopContact(contactId: string): void {
    const contact = this.contacts.get(contactId);
    if (!contact) throw new ApiError('ContactNotFoundException', 410, `Contact ${contactId} not found`);
    this.endContact(contact, 'stopped');
  }

  // ---- Participant Service -----------------------------------------------------------------------

  /** CreateParticipantConnection: authenticates the ParticipantToken and issues credentials. */
  createConnection(
    participantToken: string,
    input: { websocket: boolean; credentials: boolean; connectParticipant: boolean },
  ): {
    Websocket?: { Url: string; ConnectionExpiry?: string };
    ConnectionCredentials?: { ConnectionToken?: string; Expiry?: string };
  } {
    const participant = this.participantTokens.get(participantToken);
    if (!participant) throw accessDenied();
    const contact = this.contact(participant.contactId);
    if (participant.leftReason === 'connect-window-missed' && contact.state === 'active') {
      throw resourceNotFound('Participant not found', 'PARTICIPANT', participant.participantId);
    }
    if (participant.state === 'left' || contact.state !== 'active') throw accessDenied();

    const now = this.clock.now();
    const response: ReturnType<ChatState['createConnection']> = {};
    if (input.websocket) {
      const token = this.issue();
      this.pruneWebsocketTokens(now);
      this.websocketTokens.set(token, { participant, issuedAt: now });
      response.Websocket = {
        Url: `${this.websocketBase()}?AuthToken=${token}`,
        ConnectionExpiry: isoTime(now + this.timings.connectionExpiryMs),
      };
    }
    if (input.credentials) {
      const token = this.issue();
      const expiry = now + this.timings.connectionTokenTtlMs;
      for (const [old, oldExpiry] of participant.connectionTokens) {
        if (oldExpiry <= now) {
          participant.connectionTokens.delete(old);
          this.connectionTokens.delete(old);
        }
      }
      participant.connectionTokens.set(token, expiry);
      this.connectionTokens.set(token, participant);
      response.ConnectionCredentials = { ConnectionToken: token, Expiry: isoTime(expiry) };
    }
    if (input.connectParticipant && participant.state === 'pending') {
      participant.state = 'connected';
      this.appendEvent(contact, participant, EVENT.joined);
      this.emit('participant', contact, participant);
    }
    this.applyExpiryFault(participant.participantId, response);
    return response;
  }

  /** Every bearer secret issued (participant, connection and websocket tokens), newest last; bounded. */
  readonly issuedSecrets: string[] = [];

  private issue(): string {
    const secret = newSecret();
    this.issuedSecrets.push(secret);
    if (this.issuedSecrets.length > 10_000) this.issuedSecrets.shift();
    return secret;
  }

  /** The participant a ParticipantToken belongs to, without any check. */
  participantByToken(token: string): Participant | undefined {
    return this.participantTokens.get(token);
  }

  /** Resolves a ConnectionToken; 403 when it is unknown, expired, or its participant or contact is gone. */
  authenticate(connectionToken: string): Participant {
    const participant = this.connectionTokens.get(connectionToken);
    if (!participant) throw accessDenied();
    const expiry = participant.connectionTokens.get(connectionToken) ?? 0;
    if (expiry <= this.clock.now()) throw accessDenied();
    const contact = this.contacts.get(participant.contactId);
    if (participant.state === 'left' || contact?.state !== 'active') throw accessDenied();
    return participant;
  }

  /** Resolves a websocket AuthToken: valid for `websocketUrlTtlMs` after issue, while the participant is on. */
  websocketParticipant(token: string): Participant | undefined {
    const entry = this.websocketTokens.get(token);
    if (!entry) return undefined;
    if (this.clock.now() - entry.issuedAt > this.timings.websocketUrlTtlMs) return undefined;
    const contact = this.contacts.get(entry.participant.contactId);
    if (entry.participant.state === 'left' || contact?.state !== 'active') return undefined;
    return entry.participant;
  }

  sendMessage(
    participant: Participant,
    input: { contentType: string; content: string; clientToken?: string },
  ): { Id: string; AbsoluteTime: string } {
    const contact = this.contact(participant.contactId);
    return this.idempotent(contact, participant, 'message', input, () => {
      const item = this.appendItem(contact, participant, {
        Type: 'MESSAGE',
        ContentType: input.contentType,
        Content: input.content,
      });
      return { Id: item.Id, AbsoluteTime: item.AbsoluteTime };
    });
  }

  sendEvent(
    participant: Participant,
    input: { contentType: string; content?: string; clientToken?: string },
  ): { Id: string; AbsoluteTime: string } {
    const contact = this.contact(participant.contactId);
    return this.idempotent(contact, participant, 'event', input, () => {
      if (input.contentType === EVENT.read || input.contentType === EVENT.delivered) {
        return this.receipt(contact, participant, input.contentType, input.content);
      }
      if (input.contentType === EVENT.typing) {
        const item = this.appendItem(
          contact,
          participant,
          { Type: 'EVENT', ContentType: EVENT.typing },
          false,
        );
        return { Id: item.Id, AbsoluteTime: item.AbsoluteTime };
      }
      // connection.acknowledged: deprecated, accepted, nothing to deliver.
      const now = this.clock.now();
      return { Id: this.ids('item'), AbsoluteTime: isoTime(now) };
    });
  }

  private receipt(contact: Contact, sender: Participant, contentType: string, content: string | undefined) {
    let messageId: unknown;
    try {
      messageId = (JSON.parse(content ?? '') as { messageId?: unknown }).messageId;
    } catch {
      messageId = undefined;
    }
    if (typeof messageId !== 'string') {
      throw invalidParameter('participant', 'Content must be a JSON object with a messageId');
    }
    const message = contact.items.find((item) => item.Id === messageId && item.Type === 'MESSAGE');
    if (!message) throw invalidParameter('participant', `Message ${messageId} not found`);
    const present = [...contact.participants.values()].filter((p) => p.state === 'connected');
    if (present.length > 2) {
      throw conflict('Message receipts are not supported when there are more than two active participants');
    }
    const time = isoTime(this.clock.now());
    const receipt =
      contentType === EVENT.read
        ? { ReadTimestamp: time, RecipientParticipantId: sender.participantId }
        : { DeliveredTimestamp: time, RecipientParticipantId: sender.participantId };
    // The message keeps one receipt per recipient, holding both times (the first of each), as the Receipt
    // shape does: repeated receipts (a fresh ClientToken each, as chatjs sends them) do not pile up.
    message.MessageMetadata ??= { MessageId: message.Id, Receipts: [] };
    const kept = message.MessageMetadata.Receipts.find(
      (r) => r.RecipientParticipantId === sender.participantId,
    );
    if (kept) {
      if ('ReadTimestamp' in receipt) kept.ReadTimestamp ??= receipt.ReadTimestamp;
      else kept.DeliveredTimestamp ??= receipt.DeliveredTimestamp;
    } else message.MessageMetadata.Receipts.push({ ...receipt });
    // Receipts travel as MESSAGEMETADATA items; they are not separate transcript items.
    const item = this.appendItem(
      contact,
      sender,
      {
        Type: 'MESSAGEMETADATA',
        ContentType: contentType,
        MessageMetadata: { MessageId: message.Id, Receipts: [receipt] },
      },
      false,
    );
    return { Id: item.Id, AbsoluteTime: item.AbsoluteTime };
  }

  transcript(
    participant: Participant,
    contactId: string | undefined,
    query: TranscriptQuery,
  ): TranscriptPage & {
    initialContactId: string;
  } {
    const contact = this.contact(participant.contactId);
    if (
      contactId !== undefined &&
      contactId !== contact.contactId &&
      contactId !== contact.initialContactId
    ) {
      throw invalidParameter('participant', 'ContactId is not part of this contact chain');
    }
    try {
      return { ...pageTranscript(contact.items, query), initialContactId: contact.initialContactId };
    } catch (error) {
      if (error instanceof StartPositionNotFound || error instanceof InvalidNextToken)
        throw invalidParameter('participant', error.message);
      throw error;
    }
  }

  /**
   * The participant leaves. No ClientToken replay: leaving revokes its tokens, so a retry after it took effect is
   * refused before it gets here (AccessDeniedException, 403; the real service's answer is unconfirmed).
   */
  disconnect(participant: Participant): void {
    this.leave(this.contact(participant.contactId), participant, 'disconnected');
  }

  // ---- Control -----------------------------------------------------------------------------------

  /** An agent accepts the contact: the custom bot, if any, is disconnected (DOC-CUSTOM). */
  agentJoins(contactId: string, displayName: string): Participant {
    const contact = this.contact(contactId);
    if (contact.state !== 'active') throw invalidRequest('connect', 'Contact is not active');
    for (const participant of contact.participants.values()) {
      if (participant.role === 'CUSTOM_BOT' && participant.state !== 'left') {
        this.leave(contact, participant, 'agent-joined');
      }
    }
    const agent = this.addParticipant(contact, 'AGENT', displayName, 'connected');
    this.appendEvent(contact, agent, EVENT.joined);
    this.emit('participant', contact, agent);
    return agent;
  }

  /** The participant leaves; a customer leaving ends the chat, a bot leaving ends the flow's Wait. */
  leave(contact: Contact, participant: Participant, reason: string): void {
    if (participant.state === 'left') return;
    if (participant.role === 'CUSTOMER') {
      this.appendEvent(contact, participant, EVENT.left);
      this.endContact(contact, 'customer-disconnected');
      return;
    }
    const wasConnected = participant.state === 'connected';
    this.removeParticipant(contact, participant, reason, wasConnected);
  }

  endContact(contact: Contact, reason: string): void {
    if (contact.state === 'ended') return;
    const internal = this.internalOf(contact);
    const now = this.clock.now();
    this.appendEvent(contact, undefined, EVENT.chatEnded);
    contact.state = 'ended';
    contact.disconnectedAt = now;
    contact.lastUpdatedAt = now;
    for (const timer of internal.timers) this.clock.clearTimeout(timer);
    internal.timers.clear();
    for (const participant of contact.participants.values()) {
      if (participant.state !== 'left') {
        participant.state = 'left';
        participant.leftReason = 'chat-ended';
      }
      this.forgetTokens(participant);
      this.target?.closeSockets(participant, this.timings.endedSocketGraceMs);
    }
    this.finishWait(contact, 'WaitCompleted', `chat ended: ${reason}`, true);
    this.emit('contactEnded', contact);
    this.ended.push(contact.contactId);
    while (this.ended.length > MAX_ENDED_CONTACTS) this.forget(this.ended.shift()!);
  }

  private forget(contactId: string): void {
    const contact = this.contacts.get(contactId);
    if (!contact) return;
    this.contacts.delete(contactId);
    for (const participant of contact.participants.values()) this.target?.forget(participant);
  }

  /** Ends the flow's Wait block with `result`; the first result wins. */
  finishWait(contact: Contact, result: WaitResult, reason: string, onlyIfWaiting = false): void {
    const wait = contact.flow.wait;
    if (wait.status === 'done' || (onlyIfWaiting && wait.status !== 'waiting')) return;
    wait.status = 'done';
    wait.result = result;
    wait.reason = reason;
    wait.attributes = { ...contact.attributes };
    wait.endedAt = isoTime(this.clock.now());
    this.emit('outcome', contact);
  }

  /** Starts the Wait block (participant type Bot); without a bot on the contact it fails at once. */
  startWait(contact: Contact): void {
    if (contact.flow.wait.status !== 'idle' || contact.state !== 'active') return;
    const bot = [...contact.participants.values()].find((p) => p.role === 'CUSTOM_BOT' && p.state !== 'left');
    if (!bot) {
      this.finishWait(contact, 'ParticipantNotFound', 'no custom participant on the contact');
      return;
    }
    contact.flow.wait.status = 'waiting';
    this.emit('outcome', contact);
    this.schedule(contact, this.timings.waitTimeoutMs, () => {
      if (contact.flow.wait.status !== 'waiting') return;
      this.finishWait(contact, 'WaitCompleted', 'wait timed out');
      // The flow moves on past the Wait block without the bot, so the bot is removed (protocol.md §5.2,
      // emulator model; the real service's exact timing is unconfirmed). A runtime must cope with it.
      if (bot.state !== 'left') this.leave(contact, bot, 'wait-timed-out');
    });
  }

  /** Schedules a contact-scoped timer; all are cleared when the contact ends. */
  schedule(contact: Contact, ms: number, callback: () => void): void {
    const timers = this.internalOf(contact).timers;
    const handle = this.clock.setTimeout(() => {
      timers.delete(handle);
      callback();
    }, ms);
    timers.add(handle);
  }

  /** Clears every timer of every contact (emulator shutdown). */
  clearTimers(): void {
    for (const contact of this.contacts.values()) {
      const internal = this.internalOf(contact);
      for (const timer of internal.timers) this.clock.clearTimeout(timer);
      internal.timers.clear();
    }
  }

  /**
   * The participant's next `count` GetTranscript calls that carry a NextToken are answered with the same page
   * and the same NextToken again: a client that follows NextToken blindly pages forever.
   */
  repeatNextTokens(participant: Participant, count: number): void {
    if (count > 0) this.nextTokenRepeats.set(participant.participantId, count);
    else this.nextTokenRepeats.delete(participant.participantId);
  }

  /** Whether this GetTranscript answer repeats the request's NextToken (and counts it). */
  takeNextTokenRepeat(participant: Participant): boolean {
    const left = this.nextTokenRepeats.get(participant.participantId);
    if (!left) return false;
    if (left <= 1) this.nextTokenRepeats.delete(participant.participantId);
    else this.nextTokenRepeats.set(participant.participantId, left - 1);
    return true;
  }

  /**
   * The participant's next `count` CreateParticipantConnection responses carry these Expiry values instead of
   * the real ones (`null` leaves the field out; `connectionToken: null` leaves out the ConnectionToken). The
   * tokens themselves stay valid for their real lifetime.
   */
  malformExpiries(participant: Participant, fault: ExpiryFault): void {
    if (fault.count > 0) this.expiryFaults.set(participant.participantId, { ...fault });
    else this.expiryFaults.delete(participant.participantId);
  }

  private applyExpiryFault(participantId: string, response: ReturnType<ChatState['createConnection']>): void {
    const fault = this.expiryFaults.get(participantId);
    if (!fault) return;
    if (--fault.count <= 0) this.expiryFaults.delete(participantId);
    const { Websocket: websocket, ConnectionCredentials: credentials } = response;
    if (websocket && fault.connectionExpiry !== undefined) {
      if (fault.connectionExpiry === null) delete websocket.ConnectionExpiry;
      else websocket.ConnectionExpiry = fault.connectionExpiry;
    }
    if (credentials && fault.expiry !== undefined) {
      if (fault.expiry === null) delete credentials.Expiry;
      else credentials.Expiry = fault.expiry;
    }
    if (credentials && fault.connectionToken === null) delete credentials.ConnectionToken;
  }

  /** Expires every ConnectionToken of a participant now (fault injection). */
  expireConnectionTokens(participant: Participant): void {
    const now = this.clock.now();
    for (const token of participant.connectionTokens.keys()) participant.connectionTokens.set(token, now);
  }

  /** Appends an item from `sender` and pushes it; `store: false` pushes without keeping it (typing, receipts). */
  appendItem(
    contact: Contact,
    sender: Participant | undefined,
    fields: Pick<ChatItem, 'Type' | 'ContentType' | 'Content' | 'MessageMetadata'>,
    store = true,
  ): ChatItem {
    const internal = this.internalOf(contact);
    internal.lastItemAt = Math.max(internal.lastItemAt, this.clock.now());
    const item: ChatItem = {
      AbsoluteTime: isoTime(internal.lastItemAt),
      ...(fields.Content !== undefined ? { Content: fields.Content } : {}),
      ContentType: fields.ContentType,
      Id: this.ids('item'),
      Type: fields.Type,
      ...(sender
        ? {
            ParticipantId: sender.participantId,
            DisplayName: sender.displayName,
            ParticipantRole: sender.role,
          }
        : {}),
      ...(fields.MessageMetadata ? { MessageMetadata: fields.MessageMetadata } : {}),
      InitialContactId: contact.initialContactId,
      ContactId: contact.contactId,
    };
    if (store) contact.items.push(item);
    contact.lastUpdatedAt = internal.lastItemAt;
    const frame = JSON.stringify({
      topic: 'aws/chat',
      contentType: 'application/json',
      content: JSON.stringify(item),
    });
    // Typing is not echoed to its sender; everything else, messages included, is.
    const skip = fields.ContentType === EVENT.typing ? sender : undefined;
    for (const participant of contact.participants.values()) {
      if (participant.state !== 'left' && participant !== skip) this.target?.push(participant, frame);
    }
    this.emit('item', contact, item);
    return item;
  }

  private appendEvent(contact: Contact, participant: Participant | undefined, contentType: string): ChatItem {
    return this.appendItem(contact, participant, { Type: 'EVENT', ContentType: contentType });
  }

  private addParticipant(
    contact: Contact,
    role: ParticipantRole,
    displayName: string,
    state: Participant['state'],
  ): Participant {
    const participant: Participant = {
      participantId: this.ids('participant'),
      contactId: contact.contactId,
      role,
      displayName,
      participantToken: this.issue(),
      state,
      createdAt: this.clock.now(),
      connectionTokens: new Map(),
    };
    contact.participants.set(participant.participantId, participant);
    this.participantTokens.set(participant.participantToken, participant);
    return participant;
  }

  private removeParticipant(
    contact: Contact,
    participant: Participant,
    reason: string,
    announce: boolean,
  ): void {
    // The leaver receives its own participant.left too: that is how a bot learns it was removed.
    if (announce) this.appendEvent(contact, participant, EVENT.left);
    participant.state = 'left';
    participant.leftReason = reason;
    for (const token of participant.connectionTokens.keys()) this.connectionTokens.delete(token);
    participant.connectionTokens.clear();
    this.target?.closeSockets(participant, this.timings.endedSocketGraceMs);
    this.emit('participant', contact, participant);
    if (participant.role === 'CUSTOM_BOT') {
      this.finishWait(contact, 'BotParticipantDisconnected', reason, true);
    }
  }

  private forgetTokens(participant: Participant): void {
    this.participantTokens.delete(participant.participantToken);
    for (const token of participant.connectionTokens.keys()) this.connectionTokens.delete(token);
    participant.connectionTokens.clear();
  }

  private pruneWebsocketTokens(now: number): void {
    for (const [token, entry] of this.websocketTokens) {
      if (now - entry.issuedAt <= this.timings.websocketUrlTtlMs) break; // insertion order = issue order
      this.websocketTokens.delete(token);
    }
  }

  /**
   * ClientToken idempotency, scoped to (participant, operation, token): a repeat returns the first result, as
   * AWS idempotency tokens do, even if the content differs. Events are also scoped by content, so chatjs 5's
   * constant receipt tokens ("INCOMING_READ_RECEIPT" for every message) do not collide (chatjs-probe §4.1).
   */
  private idempotent<T>(
    contact: Contact,
    participant: Participant,
    operation: string,
    input: { clientToken?: string; contentType?: string; content?: string },
    run: () => T,
  ): T {
    if (!input.clientToken) return run();
    const scope = operation === 'event' ? [input.contentType, input.content] : [];
    const key = JSON.stringify([participant.participantId, operation, input.clientToken, ...scope]);
    const cache = this.internalOf(contact).idempotency;
    if (cache.has(key)) return cache.get(key) as T;
    const result = run();
    remember(cache, key, result);
    return result;
  }

  private internalOf(contact: Contact): Internal {
    return this.internal.get(contact)!;
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.set(key, value);
  if (map.size > IDEMPOTENCY_CACHE_LIMIT) map.delete(map.keys().next().value!);
}
