import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ApiRequest, apiRoutes, type Route } from './api.js';
import { type Clock, type IdGenerator, randomIds, systemClock } from './clock.js';
import { controlRoutes } from './control.js';
import {
  ApiError,
  accessDenied,
  internalError,
  invalidParameter,
  missingAuthentication,
  serializationError,
  throttled,
  unknownOperation,
} from './errors.js';
import { CallFaults, type FailRule } from './faults.js';
import { Fields } from './fields.js';
import { type FlowOptions, FlowSimulator } from './flow.js';
import { Gateway, type PushFaultCounts, type SocketInfo } from './gateway.js';
import { LoadGenerator } from './load.js';
import {
  type ChatItem,
  type Contact,
  EVENT,
  type FlowOutcome,
  MESSAGE_CONTENT_LIMITS,
  type Participant,
  type ParticipantRole,
} from './model.js';
import { QuotaEnforcer, type Rate } from './quotas.js';
import { ChatState, DEFAULT_TIMINGS, type Timings, timingsProblem } from './state.js';
import { parseJsonObject, readBody, sendJson } from './wire.js';

export interface EmulatorOptions {
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Region reported to clients (default `us-east-1`). */
  region?: string;
  /** The one Connect instance the emulator serves; requests for any other get ResourceNotFoundException. */
  instanceId?: string;
  /** The contact flow StartChatContact must name. */
  contactFlowId?: string;
  accountId?: string;
  /** Time source and timers (default: the system clock). */
  clock?: Clock;
  /** Id source for contacts, participants and items (default: random UUIDs). */
  ids?: IdGenerator;
  /** Lifetimes and windows; every one can be shortened for tests. */
  timings?: Partial<Timings>;
  /** Contact-flow simulation: POST the flow-Lambda event here when a chat starts. */
  onChatStart?: FlowOptions;
  /** Enforce the real per-instance/per-account quotas as token buckets (off by default). */
  quotas?: boolean | Record<string, Rate>;
  /** Receives one line per notable event (never tokens or websocket URLs). Default: silent. */
  log?: (message: string) => void;
}

/** A participant named by id, or the (first present) participant with `role` on a contact. */
export type ParticipantRef = string | { contactId: string; role: ParticipantRole };

export interface ParticipantView {
  participantId: string;
  role: ParticipantRole;
  displayName: string;
  state: Participant['state'];
  leftReason?: string;
  sockets: number;
}

export interface ContactView {
  contactId: string;
  initialContactId: string;
  state: Contact['state'];
  attributes: Record<string, string>;
  participants: ParticipantView[];
  flow: FlowOutcome;
  itemCount: number;
  initiatedAt: string;
}

export interface StartChatInput {
  displayName?: string;
  attributes?: Record<string, string>;
  initialMessage?: string;
  /** Chat duration in minutes (60–10080, default 25 h). */
  durationMinutes?: number;
}

export interface StartedChat {
  contactId: string;
  participantId: string;
  participantToken: string;
}

export const DEFAULT_INSTANCE_ID = '8e1f5a3c-4b7d-4e29-9c61-2f0a7d5b3e10';
export const DEFAULT_CONTACT_FLOW_ID = 'c0a1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b';

/** Fault-injection knobs. Every one is observable by a real client (see test/emulator/faults.test.ts). */
export class EmulatorFaults {
  constructor(private readonly emulator: Emulator) {}

  /** Closes a participant's open sockets: `clean` with code 1000, `abrupt` by destroying the TCP socket. */
  dropSockets(ref: ParticipantRef, mode: 'clean' | 'abrupt' = 'clean'): number {
    return this.emulator.gateway.drop(this.emulator.participant(ref).participantId, mode);
  }

  /** Stops answering heartbeats and pings on the participant's open sockets (optionally pushes too). */
  stopHeartbeats(ref: ParticipantRef, options: { dropPushes?: boolean } = {}): number {
    return this.emulator.gateway.stopHeartbeats(
      this.emulator.participant(ref).participantId,
      options.dropPushes ?? false,
    );
  }

  /**
   * Fails the next `count` calls of `operation` with 429 ThrottlingException or a 500. With `afterCommit` the
   * calls take effect and only their answers fail (a lost response).
   */
  failNext(
    operation: string,
    options: { count?: number; status?: 429 | 500; participant?: ParticipantRef; afterCommit?: boolean } = {},
  ): void {
    const rule: FailRule = {
      operation,
      count: options.count ?? 1,
      status: options.status ?? 500,
      ...(options.afterCommit ? { afterCommit: true } : {}),
    };
    if (options.participant !== undefined)
      rule.participantId = this.emulator.participant(options.participant).participantId;
    this.emulator.calls.failNext(rule);
  }

  /** Turns quota enforcement on or off, optionally with different rates per bucket. */
  quotas(enabled: boolean, overrides: Record<string, Rate> = {}): void {
    this.emulator.quotas.configure(enabled, overrides);
  }

  /** Changes lifetimes and windows for everything issued from now on (e.g. a ConnectionToken Expiry of seconds). */
  setTimings(timings: Partial<Timings>): void {
    const problem = timingsProblem(timings);
    if (problem) throw invalidParameter('connect', problem);
    Object.assign(this.emulator.timings, timings);
    if (timings.idleSocketTimeoutMs !== undefined) this.emulator.gateway.restartSweep();
  }

  /**
   * The next `duplicate` pushes go out twice; the next `reorder` pushes swap with the push after them; the next
   * `lose` pushes never reach the socket (the transcript keeps them), as a frame in flight when a socket dies.
   */
  pushes(ref: ParticipantRef | undefined, faults: PushFaultCounts): void {
    const id = ref === undefined ? undefined : this.emulator.participant(ref).participantId;
    this.emulator.gateway.setPushFaults(id, faults);
  }

  /**
   * The next `count` `aws/subscribe` frames of the participant (of any participant, without `ref`) get no
   * acknowledgement and do not subscribe: a client must resend, then give up.
   */
  subscribeAcks(ref: ParticipantRef | undefined, options: { drop: number }): void {
    const id = ref === undefined ? undefined : this.emulator.participant(ref).participantId;
    this.emulator.gateway.dropSubscribeAcks(id, options.drop);
  }

  /**
   * The participant's next acknowledged `aws/subscribe` is followed at once, in the same tick, by the customer's
   * typing event and/or message: they reach the client in the same read as the ack, before its subscribe call
   * has returned.
   */
  afterNextAck(ref: ParticipantRef, options: { typing?: boolean; message?: string }): void {
    const participant = this.emulator.participant(ref);
    this.emulator.gateway.afterNextAck(participant.participantId, () => {
      if (options.typing) this.emulator.typing(participant.contactId);
      if (options.message !== undefined) this.emulator.say(participant.contactId, options.message);
    });
  }

  /**
   * The participant's next `count` (1) CreateParticipantConnection responses carry these Expiry strings instead
   * of the real ones; `null` leaves the field out, and `connectionToken: null` leaves out the ConnectionToken.
   * The tokens stay valid for their real lifetime.
   */
  malformExpiries(
    ref: ParticipantRef,
    options: {
      expiry?: string | null;
      connectionExpiry?: string | null;
      connectionToken?: null;
      count?: number;
    },
  ): void {
    this.emulator.state.malformExpiries(this.emulator.participant(ref), {
      ...options,
      count: options.count ?? 1,
    });
  }

  /**
   * The participant's next `count` (1) GetTranscript calls that carry a NextToken get the same page and the same
   * NextToken back: a client that follows NextToken without a guard pages forever.
   */
  repeatNextTokens(ref: ParticipantRef, options: { count?: number } = {}): void {
    this.emulator.state.repeatNextTokens(this.emulator.participant(ref), options.count ?? 1);
  }

  /** Expires every ConnectionToken the participant holds: its next ACPS call gets 403. */
  expireConnectionTokens(ref: ParticipantRef): void {
    this.emulator.state.expireConnectionTokens(this.emulator.participant(ref));
  }

  /** Removes pending call failures. */
  clear(): void {
    this.emulator.calls.clear();
  }
}

/**
 * A local, stateful Amazon Connect chat emulator: the Connect API, the Participant Service and the chat
 * websocket on one port, faithful enough for the real AWS SDK clients and chatjs.
 *
 * @example
 * const emulator = await startEmulator();
 * const connect = new ConnectClient({ endpoint: emulator.endpoint, region: emulator.region, credentials });
 * // ...
 * await emulator.close();
 */
export class Emulator {
  readonly region: string;
  readonly instanceId: string;
  readonly contactFlowId: string;
  readonly timings: Timings;
  readonly state: ChatState;
  readonly gateway: Gateway;
  readonly calls = new CallFaults();
  readonly quotas: QuotaEnforcer;
  readonly flow: FlowSimulator;
  readonly faults = new EmulatorFaults(this);
  /** Steady inbound customer messages across the active contacts, for benchmarks. */
  readonly load: LoadGenerator;
  private readonly server: Server;
  private readonly routes: Array<{ route: Route; pattern: RegExp; keys: string[] }>;
  private readonly control: ReturnType<typeof controlRoutes>;
  private readonly log: (message: string) => void;
  private readonly ids: IdGenerator;
  private boundPort = 0;

  constructor(options: EmulatorOptions = {}) {
    this.region = options.region ?? 'us-east-1';
    this.instanceId = options.instanceId ?? DEFAULT_INSTANCE_ID;
    this.contactFlowId = options.contactFlowId ?? DEFAULT_CONTACT_FLOW_ID;
    const problem = timingsProblem(options.timings ?? {});
    if (problem) throw invalidParameter('connect', problem);
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.log = options.log ?? (() => {});
    this.ids = options.ids ?? randomIds;
    const clock = options.clock ?? systemClock;
    this.state = new ChatState(
      {
        instanceId: this.instanceId,
        contactFlowId: this.contactFlowId,
        region: this.region,
        accountId: options.accountId ?? '123456789012',
      },
      clock,
      this.ids,
      this.timings,
      () => `ws://127.0.0.1:${this.boundPort}/ws`,
    );
    this.gateway = new Gateway(this.state, clock, this.ids, this.log);
    this.state.target = this.gateway;
    this.quotas = new QuotaEnforcer(clock);
    if (options.quotas) this.quotas.configure(true, options.quotas === true ? {} : options.quotas);
    this.flow = new FlowSimulator(this.state, options.onChatStart, this.log);
    this.load = new LoadGenerator(this.state, clock);
    this.routes = apiRoutes(this.state).map((route) => compile(route));
    this.control = controlRoutes(this);
    this.server = createServer((req, res) =>
      this.onRequest(req, res).catch((error: unknown) => {
        // A last resort: one request's failure never takes the emulator (and every chat in it) down.
        this.log(`request failed: ${(error as Error)?.stack ?? String(error)}`);
        if (res.headersSent) res.destroy();
        else res.writeHead(500).end();
      }),
    );
    this.server.on('upgrade', (req, socket, head) => this.gateway.handleUpgrade(req, socket, head));
    this.server.keepAliveTimeout = 5000;
  }

  /** Listens on 127.0.0.1. Never `localhost`: chatjs rejects `ws://localhost` URLs (protocol.md §3.5). */
  async listen(port = 0): Promise<this> {
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    this.boundPort = (this.server.address() as AddressInfo).port;
    this.log(`emulator listening on 127.0.0.1:${this.boundPort}`);
    return this;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Base URL for both SDK clients' `endpoint`. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  /** Changes where the simulated flow's Invoke Lambda block posts (or turns it off with `undefined`). */
  setFlow(options: FlowOptions | undefined): void {
    this.flow.options = options;
  }

  // ---- Control API -------------------------------------------------------------------------------

  /** Starts a chat as StartChatContact does, and returns the customer's credentials. */
  startChat(input: StartChatInput = {}): StartedChat {
    // StartChatContact's own rules: a chat it would refuse is refused here too (400 InvalidParameterException).
    const f = new Fields(
      {
        DisplayName: input.displayName ?? 'Customer',
        Attributes: input.attributes,
        InitialMessage: input.initialMessage,
        ChatDurationInMinutes: input.durationMinutes,
      },
      'connect',
    );
    const displayName = f.string('DisplayName', { required: true, min: 1, max: 256 });
    const attributes = f.attributes('Attributes');
    const initialMessage = f.string('InitialMessage', { min: 1, max: 1024 });
    const durationMinutes = f.int('ChatDurationInMinutes', { min: 60, max: 10080 });
    const { contact, customer } = this.state.startChat({
      contactFlowId: this.contactFlowId,
      displayName,
      attributes,
      initialMessage: initialMessage ? { contentType: 'text/plain', content: initialMessage } : undefined,
      durationMinutes,
    });
    return {
      contactId: contact.contactId,
      participantId: customer.participantId,
      participantToken: customer.participantToken,
    };
  }

  contacts(): ContactView[] {
    return [...this.state.contacts.values()].map((contact) => this.view(contact));
  }

  contact(contactId: string): ContactView {
    return this.view(this.state.contact(contactId));
  }

  /** Every transcript item of a contact, in order (copies). */
  transcript(contactId: string): ChatItem[] {
    return this.state.contact(contactId).items.map((item) => structuredClone(item));
  }

  /** The simulated flow's Invoke Lambda and Wait outcome for a contact. */
  outcome(contactId: string): FlowOutcome {
    return structuredClone(this.state.contact(contactId).flow);
  }

  /** An agent accepts the chat; a CUSTOM_BOT on it is disconnected. Returns the agent's participant id. */
  agentJoins(contactId: string, displayName = 'Agent'): string {
    return this.state.agentJoins(contactId, displayName).participantId;
  }

  /**
   * Posts a message as the customer (default), the agent, or a participant id. Refused as SendMessage would
   * refuse it: AccessDeniedException once the sender left or the chat ended, ValidationException for a content
   * type the service does not take or a length outside its limit.
   */
  say(
    contactId: string,
    content: string,
    options: { as?: 'CUSTOMER' | 'AGENT' | string; contentType?: string } = {},
  ): ChatItem {
    const as = options.as ?? 'CUSTOMER';
    const sender =
      as === 'CUSTOMER' || as === 'AGENT'
        ? this.participant({ contactId, role: as })
        : this.state.contact(contactId).participants.get(as);
    if (!sender)
      throw new ApiError('ResourceNotFoundException', 404, `Participant ${as} not found in ${contactId}`);
    const contentType = options.contentType ?? 'text/plain';
    if (sender.state === 'left' || this.state.contact(contactId).state !== 'active') {
      throw accessDenied(
        `${as} can no longer write: ${sender.state === 'left' ? 'it left' : 'the chat ended'}`,
      );
    }
    const limit = MESSAGE_CONTENT_LIMITS[contentType];
    if (limit === undefined) {
      const allowed = Object.keys(MESSAGE_CONTENT_LIMITS).join(', ');
      throw invalidParameter(
        'participant',
        `ContentType ${contentType} is not supported. Allowed: ${allowed}`,
      );
    }
    if (content.length < 1 || content.length > limit) {
      throw invalidParameter('participant', `${contentType} Content must be 1-${limit} characters`);
    }
    const { Id } = this.state.sendMessage(sender, { contentType, content });
    return this.state.contact(contactId).items.find((item) => item.Id === Id)!;
  }

  /** Shows the typing indicator as the customer (default) or the agent; refused once they left or the chat ended. */
  typing(contactId: string, options: { as?: 'CUSTOMER' | 'AGENT' } = {}): void {
    const as = options.as ?? 'CUSTOMER';
    const sender = this.participant({ contactId, role: as });
    if (sender.state === 'left' || this.state.contact(contactId).state !== 'active') {
      throw accessDenied(
        `${as} can no longer write: ${sender.state === 'left' ? 'it left' : 'the chat ended'}`,
      );
    }
    this.state.sendEvent(sender, { contentType: EVENT.typing });
  }

  /** Ends a chat: `customer` disconnects the customer, `system` stops the contact. */
  endChat(contactId: string, by: 'customer' | 'system' = 'customer'): void {
    const contact = this.state.contact(contactId);
    if (by === 'customer')
      this.state.leave(contact, this.participant({ contactId, role: 'CUSTOMER' }), 'disconnected');
    else this.state.endContact(contact, 'stopped');
  }

  /**
   * Every token the emulator has issued (ParticipantTokens, ConnectionTokens, websocket AuthTokens), so tests
   * can prove that none of them ever reaches a log.
   */
  secrets(): string[] {
    return [...this.state.issuedSecrets];
  }

  /** The sockets a participant has open. */
  sockets(ref: ParticipantRef): SocketInfo[] {
    return this.gateway.socketsOf(this.participant(ref).participantId);
  }

  /** Resolves a {@link ParticipantRef}; throws ResourceNotFoundException when there is none. */
  participant(ref: ParticipantRef): Participant {
    if (typeof ref === 'string') {
      for (const contact of this.state.contacts.values()) {
        const participant = contact.participants.get(ref);
        if (participant) return participant;
      }
      throw new ApiError('ResourceNotFoundException', 404, `Participant ${ref} not found`);
    }
    const contact = this.state.contact(ref.contactId);
    const matches = [...contact.participants.values()].filter((p) => p.role === ref.role);
    const participant = matches.find((p) => p.state !== 'left') ?? matches.at(-1);
    if (!participant)
      throw new ApiError('ResourceNotFoundException', 404, `No ${ref.role} on contact ${ref.contactId}`);
    return participant;
  }

  async close(): Promise<void> {
    this.load.stop();
    this.flow.close();
    this.state.clearTimers();
    await this.gateway.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private view(contact: Contact): ContactView {
    return {
      contactId: contact.contactId,
      initialContactId: contact.initialContactId,
      state: contact.state,
      attributes: { ...contact.attributes },
      participants: [...contact.participants.values()].map((p) => ({
        participantId: p.participantId,
        role: p.role,
        displayName: p.displayName,
        state: p.state,
        ...(p.leftReason ? { leftReason: p.leftReason } : {}),
        sockets: this.gateway.socketsOf(p.participantId).length,
      })),
      flow: structuredClone(contact.flow),
      itemCount: contact.items.length,
      initiatedAt: new Date(contact.initiatedAt).toISOString(),
    };
  }

  // ---- HTTP --------------------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const cors = corsHeaders(req);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors).end();
      return;
    }
    const requestId = this.ids('request');
    const headers = { ...cors, 'x-amzn-RequestId': requestId };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      const error = serializationError('The request target is not a valid URL');
      sendJson(res, error.status, error.body(), { ...headers, 'x-amzn-ErrorType': error.type });
      return;
    }
    if (url.pathname.startsWith('/_emulator/')) {
      await this.control(req, res, url, cors);
      return;
    }
    let matched: ReturnType<Emulator['match']>;
    let participantId: string | undefined;
    let clientToken: string | undefined;
    try {
      matched = this.match(req.method ?? 'GET', url.pathname);
      const text = await readBody(req);
      clientToken = clientTokenIn(text);
      if (!matched) throw unknownOperation();
      const { route, params } = matched;
      const bearer = headerValue(req, 'x-amz-bearer');
      const request: ApiRequest = { body: {}, params, bearer };
      if (route.auth === 'sigv4') {
        if (!req.headers.authorization) throw missingAuthentication();
      } else if (!bearer) {
        throw accessDenied();
      }
      if (route.auth === 'connection-token') {
        request.participant = this.state.authenticate(bearer);
        participantId = request.participant.participantId;
      } else if (route.auth === 'participant-token') {
        participantId = this.state.participantByToken(bearer)?.participantId;
      }
      const injected = this.calls.check(route.operation, route.service, participantId);
      if (injected && !injected.afterCommit) throw injected.error;
      const scope = route.service === 'participant' ? this.instanceId : this.state.info.accountId;
      if (!this.quotas.take(route.operation, scope)) throw throttled(route.operation);
      request.body = parseJsonObject(text);
      const result = route.handle(request);
      if (injected) throw injected.error;
      this.record(matched.route.operation, 200, participantId, clientToken);
      sendJson(res, 200, result, headers);
    } catch (error) {
      const apiError =
        error instanceof ApiError ? error : internalError(matched?.route.service ?? 'participant');
      if (!(error instanceof ApiError))
        this.log(`internal error on ${url.pathname}: ${(error as Error).stack}`);
      this.record(matched?.route.operation ?? 'Unknown', apiError.status, participantId, clientToken);
      sendJson(res, apiError.status, apiError.body(), { ...headers, 'x-amzn-ErrorType': apiError.type });
    }
  }

  private record(
    operation: string,
    status: number,
    participantId: string | undefined,
    clientToken: string | undefined,
  ): void {
    this.calls.record({
      operation,
      status,
      at: Date.now(),
      ...(participantId ? { participantId } : {}),
      ...(clientToken ? { clientToken } : {}),
    });
  }

  private match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
    for (const { route, pattern, keys } of this.routes) {
      if (route.method !== method) continue;
      const m = pattern.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      keys.forEach((key, i) => {
        params[key] = decodeLabel(m[i + 1]!);
      });
      return { route, params };
    }
    return undefined;
  }
}

/** A path label, percent-decoded; one that is not valid percent-encoding is a SerializationException (400). */
function decodeLabel(label: string): string {
  try {
    return decodeURIComponent(label);
  } catch {
    throw serializationError('A path label is not valid percent-encoding');
  }
}

/** Starts an emulator listening on 127.0.0.1. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return new Emulator(options).listen(options.port ?? 0);
}

function compile(route: Route): { route: Route; pattern: RegExp; keys: string[] } {
  const keys: string[] = [];
  const source = route.path.replace(/\{(\w+)\}/g, (_, key: string) => {
    keys.push(key);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}$`), keys };
}

function headerValue(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/** The browser playground runs chatjs against the emulator from another origin. */
function corsHeaders(req: IncomingMessage): Record<string, string> {
  return {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
    'access-control-allow-headers': headerValue(req, 'access-control-request-headers') || '*',
    'access-control-expose-headers': 'x-amzn-RequestId, x-amzn-ErrorType, x-amz-request-id',
    'access-control-max-age': '600',
  };
}

/** The ClientToken of a request body, for the call log; undefined for none or a body that is not JSON. */
function clientTokenIn(text: string): string | undefined {
  if (!text.includes('"ClientToken"')) return undefined;
  try {
    const token = (JSON.parse(text) as { ClientToken?: unknown }).ClientToken;
    return typeof token === 'string' ? token : undefined;
  } catch {
    return undefined;
  }
}
