import { afterEach } from 'vitest';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../src/emulator/index.js';
import {
  type AnyBotDefinition,
  BotHost,
  type BotHostOptions,
  ChatClient,
  type ChatClientOptions,
  JoinServer,
  loadBots,
  type PreparedBot,
  prepareBot,
  TokenBucketLimiter,
} from '../../src/index.js';
import { FAST_TIMINGS } from './harness.js';
import { dummyCredentials } from './sdk.js';
import { waitUntil } from './wait.js';

export const SECRET = 'test-secret-0123456789abcdef';

export interface HostSetup {
  emulator: Emulator;
  client: ChatClient;
  host: BotHost;
  server: JoinServer;
  joinUrl: string;
  limiter: TokenBucketLimiter;
}

/**
 * An emulator whose flow simulation posts to a real join endpoint, and a host with the given bots (default: the
 * repository's example bots). Torn down after each test.
 */
export async function hostSetup(
  options: {
    bots?: Array<PreparedBot | AnyBotDefinition>;
    emulator?: EmulatorOptions;
    client?: Partial<ChatClientOptions>;
    host?: Partial<Omit<BotHostOptions, 'client' | 'bots'>>;
    limiter?: TokenBucketLimiter;
  } = {},
): Promise<HostSetup> {
  const emulator = await startEmulator(options.emulator);
  const limiter = options.limiter ?? new TokenBucketLimiter();
  const client = new ChatClient({
    region: emulator.region,
    endpoint: emulator.endpoint,
    credentials: dummyCredentials,
    retry: { minDelayMs: 20, maxDelayMs: 200 },
    rateLimiter: limiter,
    ...options.client,
    timings: { ...FAST_TIMINGS, ...options.client?.timings },
  });
  const bots = options.bots
    ? options.bots.map((bot) => ('attach' in bot ? bot : prepareBot(bot)))
    : await loadBots('bots');
  const host = new BotHost({ client, bots, defaultBot: bots[0]?.name, ...options.host });
  const server = new JoinServer(host, { port: 0, secret: SECRET });
  const joinUrl = await server.listen();
  emulator.setFlow({ url: joinUrl, secret: SECRET });
  cleanups.push(async () => {
    await server.close();
    client.closeAll();
    limiter.close();
    await emulator.close();
  });
  return { emulator, client, host, server, joinUrl, limiter };
}

/**
 * Another host on the same emulator, as after a restart or on another machine (for `BotHost.resume`). Stopped
 * after the test.
 */
export function nextHost(
  setup: Pick<HostSetup, 'emulator'>,
  bots: PreparedBot[],
  options: {
    client?: Partial<ChatClientOptions>;
    host?: Partial<Omit<BotHostOptions, 'client' | 'bots'>>;
  } = {},
): { client: ChatClient; host: BotHost } {
  const client = new ChatClient({
    region: setup.emulator.region,
    endpoint: setup.emulator.endpoint,
    credentials: dummyCredentials,
    retry: { minDelayMs: 20, maxDelayMs: 200 },
    ...options.client,
    timings: { ...FAST_TIMINGS, ...options.client?.timings },
  });
  const host = new BotHost({ client, bots, ...options.host });
  cleanups.push(async () => {
    await host.stop();
    client.closeAll();
  });
  return { client, host };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Starts a chat through the flow simulation and waits until the bot has joined. */
export async function chatWithBot(
  setup: Pick<HostSetup, 'emulator'>,
  attributes: Record<string, string> = {},
) {
  const chat = setup.emulator.startChat({ attributes });
  await waitUntil(
    () =>
      setup.emulator.outcome(chat.contactId).lambda?.status !== 'pending' &&
      setup.emulator.outcome(chat.contactId).lambda,
    'the flow Lambda to finish',
  );
  const lambda = setup.emulator.outcome(chat.contactId).lambda!;
  if (lambda.status !== 'succeeded') throw new Error(`join failed: ${JSON.stringify(lambda)}`);
  return chat;
}

/** Messages the bot has sent in a chat, in order. */
export function botMessages(emulator: Emulator, contactId: string): string[] {
  return emulator
    .transcript(contactId)
    .filter((item) => item.Type === 'MESSAGE' && item.ParticipantRole === 'CUSTOM_BOT')
    .map((item) => item.Content ?? '');
}

/** Waits until the bot has sent `count` messages in the chat; returns them. */
export function waitForBotMessages(emulator: Emulator, contactId: string, count: number, timeoutMs = 10_000) {
  return waitUntil(
    () => {
      const messages = botMessages(emulator, contactId);
      return messages.length >= count && messages;
    },
    `${count} bot messages in ${contactId} (have ${JSON.stringify(botMessages(emulator, contactId))})`,
    timeoutMs,
  );
}

/**
 * POSTs `body` (JSON, or a string sent as it is) to a join endpoint with the test secret: the status, the answer
 * parsed (`{ raw }` when it is not JSON) and the headers.
 */
export async function postJoin(
  url: string,
  body: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${SECRET}` },
  timeoutMs = 10_000,
) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { raw: text };
  }
  return { status: response.status, body: parsed, headers: response.headers };
}
