import { afterEach, expect } from 'vitest';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../src/emulator/index.js';
import {
  ChatClient,
  type ChatClientOptions,
  type ChatItem,
  type ChatSession,
  ContentType,
  type RateLimiter,
} from '../../src/index.js';
import { answerEditingProxy, type EditingProxy } from './proxy.js';
import { dummyCredentials, sdkClients } from './sdk.js';
import { nextEvent, waitUntil } from './wait.js';
import { TestSocket } from './ws-client.js';

/**
 * Fast timings for tests: windows in seconds. Heartbeats stay at 1 s so a loaded CI machine does not mistake a
 * slow event loop for a zombie socket; the zombie test shortens them itself.
 */
export const FAST_TIMINGS = {
  heartbeatIntervalMs: 1000,
  pingEveryHeartbeats: 3,
  subscribeAckTimeoutMs: 300,
  reconnectMinDelayMs: 50,
  reconnectMaxDelayMs: 500,
  rotationFloorMs: 200,
  tokenRefreshFloorMs: 200,
} as const;

/**
 * A fresh emulator and a ChatClient pointed at it (through an {@link answerEditingProxy} with `proxy`); all torn
 * down after the test.
 */
export async function setup(
  options: { emulator?: EmulatorOptions; client?: Partial<ChatClientOptions>; proxy?: boolean } = {},
): Promise<{ emulator: Emulator; client: ChatClient; proxy: EditingProxy | undefined }> {
  const emulator = await startEmulator(options.emulator);
  const proxy = options.proxy ? await answerEditingProxy(emulator.endpoint) : undefined;
  const client = new ChatClient({
    region: emulator.region,
    endpoint: proxy?.endpoint ?? emulator.endpoint,
    credentials: dummyCredentials,
    retry: { minDelayMs: 20, maxDelayMs: 200 },
    ...options.client,
    timings: { ...FAST_TIMINGS, ...options.client?.timings },
  });
  cleanups.push(async () => {
    client.closeAll();
    await proxy?.close();
    await emulator.close();
  });
  return { emulator, client, proxy };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Starts a chat and joins a bot to it; returns the session and a recorder of everything it delivers. */
export async function joinedChat(
  emulator: Emulator,
  client: ChatClient,
  attributes: Record<string, string> = {},
) {
  const chat = emulator.startChat({ attributes });
  const session = await client.join({
    instanceId: emulator.instanceId,
    contactId: chat.contactId,
    displayName: 'Bot',
  });
  return { chat, session, recorder: record(session) };
}

/**
 * Runs `action` once, on the first throttled attempt of `operation` the client reports: with a 429 from
 * `emulator.faults.failNext`, the retry delay is a window in the middle of that call (e.g. of a back-fill).
 */
export function onThrottled(client: ChatClient, operation: string, action: () => void): void {
  const listener = (call: { operation: string; outcome: string }) => {
    if (call.operation !== operation || call.outcome !== 'throttled') return;
    client.off('apiCall', listener);
    action();
  };
  client.on('apiCall', listener);
}

/** Records every item a session delivers, in order. */
export function record(session: ChatSession) {
  const items: ChatItem[] = [];
  session.on('item', (item) => items.push(item));
  const customer = () =>
    items.filter((i) => i.Type === 'MESSAGE' && i.ParticipantId !== session.participantId);
  /** Contents of non-own messages, in delivery order. */
  const customerMessages = () => customer().map((i) => i.Content);
  const waitForMessages = (count: number, timeoutMs = 10_000) =>
    waitUntil(() => customer().length >= count && items, `${count} customer messages`, timeoutMs);
  return {
    items,
    customerMessages,
    ids: () => items.map((i) => i.Id),
    waitForMessages,
    /** Waits for `expected.length` customer messages, then asserts exactly these, in order, and no item twice. */
    async receivedExactlyOnce(expected: string[]): Promise<void> {
      await waitForMessages(expected.length);
      expect(customerMessages()).toEqual(expected);
      const ids = items.map((i) => i.Id);
      expect(new Set(ids).size).toBe(ids.length);
    },
  };
}

type Recorder = ReturnType<typeof record>;

/** Drops the bot's sockets abruptly and waits until the session has reconnected. */
export async function dropAndReopen(emulator: Emulator, session: ChatSession): Promise<void> {
  const reopened = nextEvent(session, 'state', (state) => state === 'open', 5000);
  emulator.faults.dropSockets({ contactId: session.contactId, role: 'CUSTOM_BOT' }, 'abrupt');
  await reopened;
}

/**
 * Sends a delivered and a read receipt for each message id, `rounds` times over, and waits for their echoes:
 * receipts share the dedupe window with items, so this pushes items out of a small one.
 */
export async function sendReceipts(
  session: ChatSession,
  recorder: Recorder,
  messageIds: string[],
  rounds = 1,
): Promise<void> {
  const before = recorder.items.filter((i) => i.Type === 'MESSAGEMETADATA').length;
  for (let round = 0; round < rounds; round++) {
    for (const messageId of messageIds) {
      await session.sendEvent('delivered', { messageId });
      await session.sendEvent('read', { messageId });
    }
  }
  const expected = before + 2 * rounds * messageIds.length;
  await waitUntil(
    () => recorder.items.filter((i) => i.Type === 'MESSAGEMETADATA').length >= expected,
    `${expected} receipts echoed`,
  );
}

/**
 * The customer says 'first', then 'A' and 'B', and the bot's socket delivers B before A (A is first in the
 * transcript), so the cursor ends on A. Returns the A item.
 */
export async function sayOutOfOrder(emulator: Emulator, session: ChatSession, recorder: Recorder) {
  emulator.say(session.contactId, 'first');
  await recorder.waitForMessages(1);
  emulator.faults.pushes({ contactId: session.contactId, role: 'CUSTOM_BOT' }, { reorder: 1 });
  emulator.say(session.contactId, 'A');
  emulator.say(session.contactId, 'B');
  await recorder.waitForMessages(3);
  expect(recorder.customerMessages()).toEqual(['first', 'B', 'A']);
  return recorder.items.find((i) => i.Content === 'A')!;
}

/** Another host takes over: a snapshot, the session released locally, and a resume from the snapshot. */
export async function handOver(client: ChatClient, session: ChatSession) {
  const snapshot = session.snapshot();
  session.close(); // the participant stays in the chat
  const resumed = await client.resume(snapshot);
  return { resumed, recorder: record(resumed) };
}

export { ContentType, sdkClients, TestSocket };

/**
 * A rate limiter that holds the next calls of the operations it is told to until the test releases them, oldest
 * first: an API call paused at a chosen point, with no timing involved.
 */
export function callGate() {
  const waiting: Array<{ operation: string; release: () => void }> = [];
  const holds = new Map<string, number>();
  const limiter: RateLimiter = {
    async acquire(operation) {
      const count = holds.get(operation) ?? 0;
      if (count === 0) return;
      holds.set(operation, count - 1);
      await new Promise<void>((release) => waiting.push({ operation, release }));
    },
    throttled() {},
  };
  return {
    limiter,
    holdNext: (operation: string) => holds.set(operation, (holds.get(operation) ?? 0) + 1),
    held: (operation: string) => waiting.filter((w) => w.operation === operation).length,
    /** Lets the oldest held call of `operation` go on. */
    release: (operation: string) => {
      const index = waiting.findIndex((w) => w.operation === operation);
      if (index >= 0) waiting.splice(index, 1)[0]!.release();
    },
  };
}
