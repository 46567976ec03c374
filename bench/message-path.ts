/**
 * CPU per inbound message of the JavaScript path alone, frame bytes → `message` event, with no socket, no
 * kernel and no other process: what the held-chats benchmark's "CPU per inbound message" is made of, minus
 * the part every ws client pays. Deterministic enough to compare two versions of the session code.
 *
 *   npm run bench:path             1,000 real sessions (joined through the emulator), 200,000 messages
 *   npm run bench:path -- --n 200 --messages 50000
 *
 * Frames are built as the emulator builds them (a new item Id each), spread round-robin over the chats, and
 * handed to each session's socket as ws would hand them over. "floor" runs the bare-ws client's handler
 * (two JSON.parse) over the same frames. Both include the garbage collection their allocations cause.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startEmulator } from '../src/emulator/index.js';
import { ChatClient } from '../src/session/client.js';
import type { ChatItem } from '../src/session/items.js';
import type { ChatSession } from '../src/session/session.js';
import { tuneV8ForHeldChats } from '../src/session/tuning.js';
import type { ChatSocket } from '../src/transport/socket.js';
import { median, wholeNumber } from './lib/report.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    messages: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '5' },
  },
});
const n = wholeNumber('n', values.n, 1, 5000);
const messages = wholeNumber('messages', values.messages, 1000, 2_000_000);
const rounds = wholeNumber('rounds', values.rounds, 1, 20);

tuneV8ForHeldChats();
// The SDK's notice about Node 20 (read when a client is created), as for the other benchmark children.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const emulator = await startEmulator({
  timings: { waitTimeoutMs: 60 * 60_000, idleSocketTimeoutMs: 60 * 60_000 },
});
const client = new ChatClient({
  region: emulator.region,
  endpoint: emulator.endpoint,
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});

interface Target {
  socket: ChatSocket;
  contactId: string;
  customerId: string;
}
const targets: Target[] = [];
let received = 0;
function onMessage(item: ChatItem): void {
  if (item.Content !== undefined) received++;
}
for (let i = 0; i < n; i += 50) {
  const batch = await Promise.all(
    Array.from({ length: Math.min(50, n - i) }, async () => {
      const { contactId } = emulator.startChat({ displayName: 'Customer' });
      const session: ChatSession = await client.join({
        instanceId: emulator.instanceId,
        contactId,
        displayName: 'Bench',
      });
      session.on('message', onMessage);
      // The session's live socket (a private field): what ws hands inbound frames to.
      const { socket } = session as unknown as { socket: ChatSocket };
      return { socket, contactId, customerId: randomUUID() };
    }),
  );
  targets.push(...batch);
}
// A session releases what arrived during its join on the next turn of the event loop.
await new Promise((resolve) => setImmediate(resolve));

/** One `aws/chat` frame as the emulator pushes it, with a fresh item Id. */
function frame(target: Target, seq: number): Buffer {
  const item = {
    AbsoluteTime: new Date().toISOString(),
    Content: `load ${seq} ${Date.now()}`,
    ContentType: 'text/plain',
    Id: randomUUID(),
    Type: 'MESSAGE',
    ParticipantId: target.customerId,
    DisplayName: 'Customer',
    ParticipantRole: 'CUSTOMER',
    InitialContactId: target.contactId,
    ContactId: target.contactId,
  };
  return Buffer.from(
    JSON.stringify({ topic: 'aws/chat', contentType: 'application/json', content: JSON.stringify(item) }),
  );
}

/** The bare-ws floor client's message handler (bench/floor-process.ts). */
let floorReceived = 0;
function floorHandler(data: Buffer): void {
  const parsed = JSON.parse(data.toString()) as { topic?: string; content?: unknown };
  if (parsed.topic === 'aws/chat') {
    const item = JSON.parse(parsed.content as string) as { Type?: string; Content?: string };
    if (item.Type === 'MESSAGE' && item.Content !== undefined) floorReceived++;
  }
}

// Frames are built before each timed batch (at most 100,000 at a time), so building them is not measured.
const BATCH = 100_000;
function makeFrames(first: number, count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => frame(targets[(first + i) % n]!, first + i));
}

function measure(run: (frames: Buffer[], first: number) => void): number {
  let usedUs = 0;
  for (let done = 0; done < messages; done += BATCH) {
    const frames = makeFrames(done, Math.min(BATCH, messages - done));
    const started = process.cpuUsage();
    run(frames, done);
    const used = process.cpuUsage(started);
    usedUs += used.user + used.system;
  }
  return usedUs / messages;
}

/** Frame i of a batch that starts at message `first` belongs to chat (first + i) mod n. */
const ours = (frames: Buffer[], first: number) => {
  for (let i = 0; i < frames.length; i++) targets[(first + i) % n]!.socket.onMessage(frames[i]!, false);
};
const floor = (frames: Buffer[]) => {
  for (let i = 0; i < frames.length; i++) floorHandler(frames[i]!);
};

const results: Array<{ ours: number; floor: number }> = [];
for (let round = 0; round < rounds; round++) {
  results.push({ ours: measure(ours), floor: measure(floor) });
}
const expected = rounds * messages;
if (received !== expected || floorReceived !== expected)
  throw new Error(`delivered ${received} (ours) and ${floorReceived} (floor) of ${expected}`);

const oursUs = median(results.map((r) => r.ours));
const floorUs = median(results.map((r) => r.floor));
process.stdout.write(
  `message path, ${n} chats, ${messages} messages × ${rounds} rounds (median; CPU incl. GC):\n` +
    `  ours  ${oursUs.toFixed(2)} µs/msg   [${results.map((r) => r.ours.toFixed(2)).join(' ')}]\n` +
    `  floor ${floorUs.toFixed(2)} µs/msg   [${results.map((r) => r.floor.toFixed(2)).join(' ')}]\n` +
    `  ours − floor ${(oursUs - floorUs).toFixed(2)} µs/msg\n`,
);
client.closeAll();
await emulator.close();
process.exit(0);
