import { describe, expect, it } from 'vitest';
import {
  type BotError,
  ChatClient,
  type ConnectBotError,
  type Context,
  DEFAULT_QUOTAS,
  defineBot,
  type QuotaRate,
  TokenBucketLimiter,
} from '../../src/index.js';
import { botMessages, chatWithBot, hostSetup, waitForBotMessages } from '../support/host-harness.js';
import { dummyCredentials } from '../support/sdk.js';
import { nextEvent, waitUntil } from '../support/wait.js';

/** Quotas far above anything a test does, so only the behaviour under test is throttled. */
function roomyLimiter(
  overrides: Record<string, QuotaRate> = {},
  options: { throttlePauseMs?: number } = {},
): TokenBucketLimiter {
  const rates = Object.fromEntries(
    Object.keys(DEFAULT_QUOTAS).map((name) => [name, { rate: 100_000, burst: 100_000 }]),
  );
  return new TokenBucketLimiter({ rates: { ...rates, ...overrides }, ...options });
}

const echo = defineBot({
  name: 'echo',
  displayName: 'Echo',
  setup(bot) {
    bot.on('message', (ctx) => ctx.reply(ctx.text));
  },
});

describe('BotHost', () => {
  it('keeps every chat in order: 100 chats × 20 messages', async () => {
    const setup = await hostSetup({ bots: [echo], limiter: roomyLimiter() });
    const { emulator } = setup;
    const chats = await Promise.all(Array.from({ length: 100 }, () => chatWithBot(setup)));
    const expected = Array.from({ length: 20 }, (_, i) => `message ${i + 1}`);
    for (const text of expected) for (const chat of chats) emulator.say(chat.contactId, text);
    for (const chat of chats) {
      expect(await waitForBotMessages(emulator, chat.contactId, 20, 30_000)).toEqual(expected);
    }
  }, 60_000);

  it('times out a hung handler, reports CB_HANDLER_TIMEOUT, and the chat keeps working', async () => {
    const errors: string[] = [];
    let lateReply: unknown;
    const hang = defineBot({
      name: 'hang',
      displayName: 'Hang',
      setup(bot) {
        bot.hears('hang', async (ctx) => {
          await new Promise((resolve) => setTimeout(resolve, 600));
          lateReply = await ctx.reply('too late').catch((error: ConnectBotError) => error.code);
        });
        bot.on('message', (ctx) => ctx.reply(`ok: ${ctx.text}`));
        bot.catch((error: BotError<Context>) => {
          errors.push(error.code);
        });
      },
    });
    const setup = await hostSetup({ bots: [hang], host: { handlerTimeoutMs: 200 } });
    const chat = await chatWithBot(setup);
    const timedOut = nextEvent(setup.host, 'handled', (_chat, _kind, _ms, timed) => timed);
    setup.emulator.say(chat.contactId, 'hang');
    setup.emulator.say(chat.contactId, 'ping');
    await timedOut;
    expect(await waitForBotMessages(setup.emulator, chat.contactId, 1)).toEqual(['ok: ping']);
    expect(errors).toEqual(['CB_HANDLER_TIMEOUT']);
    await waitUntil(() => lateReply, 'the abandoned handler to wake up');
    expect(lateReply).toBe('CB_HANDLER_TIMEOUT'); // its late reply was refused, not posted out of order
    expect(botMessages(setup.emulator, chat.contactId)).toEqual(['ok: ping']);
  });

  it('caps each chat queue and reports CB_QUEUE_FULL', async () => {
    const errors: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = defineBot({
      name: 'slow',
      displayName: 'Slow',
      setup(bot) {
        bot.on('message', async (ctx) => {
          await gate;
          await ctx.reply(ctx.text);
        });
        bot.catch(async (error) => {
          errors.push(error.code);
          await error.ctx.reply(`sorry, I missed ${error.ctx.text}`);
        });
      },
    });
    const setup = await hostSetup({ bots: [slow], host: { maxQueueDepth: 3 }, limiter: roomyLimiter() });
    const chat = await chatWithBot(setup);
    for (let i = 1; i <= 6; i++) setup.emulator.say(chat.contactId, `m${i}`);
    const held = setup.host.chats.get(chat.contactId)!;
    await waitUntil(() => held.stats.dropped === 2, 'two dropped updates');
    // Reported in the chat's turn: after the updates queued before them, not while m1 still runs.
    expect(errors).toEqual([]);
    release();
    // m1 was running, m2-m4 queued, m5 and m6 dropped: their apologies come after the answers to those.
    expect(await waitForBotMessages(setup.emulator, chat.contactId, 6)).toEqual([
      'm1',
      'm2',
      'm3',
      'm4',
      'sorry, I missed m5',
      'sorry, I missed m6',
    ]);
    expect(errors).toEqual(['CB_QUEUE_FULL', 'CB_QUEUE_FULL']);
  });

  it('answers each customer message exactly once under drops, 500s and duplicate pushes', async () => {
    const setup = await hostSetup({ bots: [echo], limiter: roomyLimiter() });
    const { emulator } = setup;
    const chat = await chatWithBot(setup);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const sent: string[] = [];
    const say = (n: number) => {
      for (let i = 0; i < n; i++) {
        const text = `q${sent.length + 1}`;
        sent.push(text);
        emulator.say(chat.contactId, text);
      }
    };
    emulator.faults.pushes(bot, { duplicate: 10 });
    say(10);
    emulator.faults.failNext('SendMessage', { count: 3, status: 500 });
    say(5);
    await waitForBotMessages(emulator, chat.contactId, 8);
    emulator.faults.dropSockets(bot, 'abrupt');
    say(5);
    emulator.faults.failNext('GetTranscript', { count: 2, status: 500 });
    emulator.faults.dropSockets(bot, 'clean');
    say(10);
    expect(await waitForBotMessages(emulator, chat.contactId, 30, 20_000)).toEqual(sent);
    // Nothing more arrives later either.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(botMessages(emulator, chat.contactId)).toEqual(sent);
  });

  it('pauses the quota bucket after a 429 instead of hammering it', async () => {
    const setup = await hostSetup({ bots: [echo], limiter: roomyLimiter({}, { throttlePauseMs: 400 }) });
    const { emulator } = setup;
    const chat = await chatWithBot(setup);
    emulator.faults.failNext('SendMessage', { count: 2, status: 429 });
    for (let i = 0; i < 5; i++) emulator.say(chat.contactId, `x${i}`);
    await waitForBotMessages(emulator, chat.contactId, 5);
    const calls = emulator.calls.log.filter((call) => call.operation === 'SendMessage');
    const throttled = calls.filter((call) => call.status === 429);
    expect(throttled).toHaveLength(2);
    // After each 429 the bucket is paused: the next SendMessage call comes no sooner than the pause.
    for (const hit of throttled) {
      const next = calls.find((call) => call.at > hit.at);
      expect(next!.at - hit.at).toBeGreaterThanOrEqual(380);
    }
    expect(calls).toHaveLength(7); // 5 replies + 2 throttled attempts: no hammering
  });

  it('joins are idempotent per contact', async () => {
    const setup = await hostSetup({ bots: [echo] });
    const chat = setup.emulator.startChat();
    const request = { instanceId: setup.emulator.instanceId, contactId: chat.contactId };
    const [a, b] = await Promise.all([setup.host.join(request), setup.host.join(request)]);
    expect(a.participantId).toBe(b.participantId);
    expect([a.reused, b.reused].sort()).toEqual([false, true]);
    const again = await setup.host.join(request);
    expect(again).toMatchObject({ participantId: a.participantId, reused: true });
    expect(setup.emulator.calls.count('CreateParticipant')).toBe(1);
  });
});

describe('shutdown', () => {
  it('handoff: drains a running handler, sets the handoff attributes and leaves', async () => {
    const slow = defineBot({
      name: 'slow',
      displayName: 'Slow',
      setup(bot) {
        bot.on('message', async (ctx) => {
          await new Promise((resolve) => setTimeout(resolve, 300));
          await ctx.reply(`done: ${ctx.text}`);
        });
      },
    });
    const setup = await hostSetup({ bots: [slow], host: { onShutdown: 'handoff' } });
    const chat = await chatWithBot(setup);
    setup.emulator.say(chat.contactId, 'work');
    await waitUntil(() => setup.host.slots.inUse === 1, 'the handler to start');
    const result = await setup.host.stop();
    expect(result).toMatchObject({ mode: 'handoff', chats: 1, unfinished: 0 });
    expect(botMessages(setup.emulator, chat.contactId)).toEqual(['done: work']);
    expect(setup.emulator.outcome(chat.contactId).wait).toMatchObject({
      result: 'BotParticipantDisconnected',
      attributes: { botShutdown: 'true' },
    });
    await expect(
      setup.host.join({ instanceId: setup.emulator.instanceId, contactId: 'x' }),
    ).rejects.toMatchObject({
      code: 'CB_NOT_ACCEPTING',
    });
  });

  it('leave: leaves without setting attributes', async () => {
    const setup = await hostSetup({ bots: [echo], host: { onShutdown: 'leave' } });
    const chat = await chatWithBot(setup);
    await setup.host.stop();
    const view = setup.emulator.contact(chat.contactId);
    expect(view.participants.find((p) => p.role === 'CUSTOM_BOT')?.state).toBe('left');
    expect(view.attributes.botShutdown).toBeUndefined();
    expect(setup.emulator.outcome(chat.contactId).wait.result).toBe('BotParticipantDisconnected');
  });

  it('keep: closes the sockets but stays in the chat, and another host can resume it', async () => {
    const setup = await hostSetup({ bots: [echo], host: { onShutdown: 'keep' } });
    const chat = await chatWithBot(setup);
    const result = await setup.host.stop();
    expect(result.kept).toHaveLength(1);
    const bot = setup.emulator.contact(chat.contactId).participants.find((p) => p.role === 'CUSTOM_BOT')!;
    expect(bot.state).toBe('connected');
    await waitUntil(() => setup.emulator.sockets(bot.participantId).length === 0, 'sockets closed');
    expect(setup.emulator.outcome(chat.contactId).wait.status).toBe('waiting');

    setup.emulator.say(chat.contactId, 'while nobody listens');
    // Another process picks the chat up from the snapshot.
    const client = new ChatClient({
      region: setup.emulator.region,
      endpoint: setup.emulator.endpoint,
      credentials: dummyCredentials,
    });
    const session = await client.resume(result.kept[0]!.snapshot);
    const items: string[] = [];
    session.on('message', (item) => items.push(item.Content ?? ''));
    await waitUntil(() => items.includes('while nobody listens'), 'the message sent while the chat was kept');
    session.close();
  });
});
