import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import {
  BotHost,
  ChatClient,
  defineBot,
  type JoinResult,
  type KeptChat,
  prepareBot,
  TokenBucketLimiter,
} from '../../src/index.js';
import { FAST_TIMINGS } from '../support/harness.js';
import { chatWithBot, hostSetup } from '../support/host-harness.js';
import { runningHost } from '../support/running-host.js';
import { dummyCredentials } from '../support/sdk.js';
import { waitUntil } from '../support/wait.js';

const echo = prepareBot(
  defineBot({
    name: 'echo',
    displayName: 'Echo',
    setup: (b) => b.on('message', (ctx) => ctx.reply(ctx.text)),
  }),
);

/**
 * stop() while a resume is still waiting (here on the CreateParticipantConnection quota): the drain times out and
 * the host stops; the resume, when it gets its connection, does not hand a stopped host a chat. It closes the
 * session without leaving, and the chat goes back to the keep file.
 */
describe('stop() while a resume is in flight', () => {
  it('BotHost: a resume that was in flight when stop() returned must not leave a chat held by a stopped host', async () => {
    const setup = await hostSetup({ bots: [echo], host: { onShutdown: 'keep' } });
    await chatWithBot(setup);
    const [kept] = (await setup.host.stop()).kept as [KeptChat];

    // The next host's CreateParticipantConnection bucket is empty: its resume waits ~2 s for a token.
    const limiter = new TokenBucketLimiter({
      rates: { CreateParticipantConnection: { rate: 0.5, burst: 1 } },
    });
    await limiter.acquire('CreateParticipantConnection', kept.snapshot.instanceId);
    const client = new ChatClient({
      region: setup.emulator.region,
      endpoint: setup.emulator.endpoint,
      credentials: dummyCredentials,
      retry: { minDelayMs: 20, maxDelayMs: 200 },
      timings: FAST_TIMINGS,
      rateLimiter: limiter,
    });
    const host = new BotHost({ client, bots: [echo], onShutdown: 'keep', drainTimeoutMs: 100 });
    try {
      const resuming: Promise<JoinResult | Error> = host.resume(kept).catch((error: Error) => error);
      const result = await host.stop();
      // The chat was neither kept nor taken over when stop() returned.
      expect(result.kept).toEqual([]);
      const outcome = await resuming;
      // A host that has stopped must not take a chat over afterwards (it is not in `kept`, so nobody else can).
      expect(outcome).toBeInstanceOf(Error);
      expect(outcome).toMatchObject({ code: expect.stringMatching(/CB_NOT_ACCEPTING|CB_SESSION_ENDED/) });
      expect(host.chats.size).toBe(0);
      expect(client.sessions.size).toBe(0);
      await waitUntil(
        () => setup.emulator.sockets(kept.snapshot.participantId).length === 0,
        'the late session to close its socket',
        5000,
      );
      // Closed, not left: the participant is still in the chat for the next host.
      const bot = setup.emulator
        .contact(kept.snapshot.contactId)
        .participants.find((p) => p.role === 'CUSTOM_BOT');
      expect(bot?.state).toBe('connected');
    } finally {
      client.closeAll();
      limiter.close();
    }
  });
});

let dir: string;
let emulator: Emulator;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'connect-bot-'));
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

describe('RunningHost.stop() while resumes from the keep file are in flight', () => {
  it('writes every chat it did not finish taking over back to the keep file', async () => {
    const keepFile = join(dir, 'kept.json');
    const config = (extra: Record<string, unknown> = {}) => ({
      bots: { default: 'echo' },
      shutdown: { onShutdown: 'keep', keepFile, drainTimeoutMs: 100 },
      ...extra,
    });
    const first = await runningHost({ on: emulator, config: config() });
    const chats = [await chatWithBot({ emulator }), await chatWithBot({ emulator })];
    await first.running.stop();
    const written = JSON.parse(await readFile(keepFile, 'utf8')) as KeptChat[];
    expect(written).toHaveLength(2);

    // One CreateParticipantConnection token, then one every 2 s: the second resume is still waiting at stop().
    const second = await runningHost({
      on: emulator,
      config: config({ quotas: { rates: { CreateParticipantConnection: { rate: 0.5, burst: 1 } } } }),
    });
    await waitUntil(() => second.running.host.chats.size === 1, 'the first chat resumed', 5000);
    await second.running.stop();
    // The late resume is not taken over: it fails once it has its connection, and its chat was written back.
    const summary = await second.running.resumed;
    expect(summary).toMatchObject({ resumed: 1, ended: 0, failed: 0 });
    expect(summary.notTaken).toHaveLength(1);
    const rewritten = JSON.parse(await readFile(keepFile, 'utf8')) as KeptChat[];
    // Both chats are in the file: the one held, kept; the other, not taken.
    expect(rewritten.map((k) => k.snapshot.contactId).sort()).toEqual(chats.map((c) => c.contactId).sort());
    // …and the stopped host holds nothing.
    expect(second.running.host.chats.size).toBe(0);
    expect(second.running.client.sessions.size).toBe(0);
  });
});
