import { describe, expect, it } from 'vitest';
import { type BotError, type Context, defineBot } from '../../src/index.js';
import { chatWithBot, hostSetup, SECRET } from '../support/host-harness.js';
import { nextEvent, waitUntil } from '../support/wait.js';

async function postJoin(url: string, body: unknown) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('host dispatch around the end of a chat', () => {
  it('a bot whose sessionDefaults throws does not leave an orphaned bot participant in the chat', async () => {
    const broken = defineBot<{ n: number }>({
      name: 'broken',
      displayName: 'Broken',
      sessionDefaults: () => {
        throw new Error('state store unavailable');
      },
      setup(bot) {
        bot.on('message', (ctx) => ctx.reply('hi'));
      },
    });
    const setup = await hostSetup({ bots: [broken] });
    setup.emulator.setFlow(undefined);
    const chat = setup.emulator.startChat();
    const answer = await postJoin(setup.joinUrl, {
      instanceId: setup.emulator.instanceId,
      contactId: chat.contactId,
    });
    // A bug in the bot, not an upstream failure: the flow should not retry.
    expect(answer).toMatchObject({ status: 500, body: { status: 'error', code: 'CB_HANDLER_FAILED' } });
    // The join failed and the host holds no chat for this contact...
    expect(setup.host.chats.size).toBe(0);
    // ...so the bot must not stay in the chat (the flow's Wait block would wait on a bot nobody runs).
    const botState = () =>
      setup.emulator.contact(chat.contactId).participants.find((p) => p.role === 'CUSTOM_BOT')?.state;
    await waitUntil(() => botState() !== 'connected', 'the orphaned bot to leave', 2000).catch(() => {});
    expect({ botState: botState(), sessionsHeld: setup.client.sessions.size }).toEqual({
      botState: 'left',
      sessionsHeld: 0,
    });
  });

  it('an update queued behind a handoff is not dispatched after the bot left (it would rewrite the handoff attributes)', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let firstStarted = false;
    const dispatchedAfterHandoff: string[] = [];
    let handedOff = false;
    const router = defineBot({
      name: 'router',
      displayName: 'Router',
      setup(bot) {
        bot.hears(/^agent (\w+)$/i, async (ctx) => {
          if (handedOff) dispatchedAfterHandoff.push(ctx.text);
          if (ctx.match[1] === 'billing') {
            firstStarted = true;
            await gate;
          }
          await ctx.handoff({ intent: String(ctx.match[1]) });
          handedOff = true;
        });
      },
    });
    const setup = await hostSetup({ bots: [router] });
    const chat = await chatWithBot(setup);
    const held = setup.host.chats.get(chat.contactId)!;
    setup.emulator.say(chat.contactId, 'agent billing');
    await waitUntil(() => firstStarted, 'the first handler to start', 5000);
    setup.emulator.say(chat.contactId, 'agent sales');
    await waitUntil(() => held.queueDepth === 1, 'the second message to queue behind the handoff', 5000);
    const ended = nextEvent(setup.host, 'chatEnded', () => true, 5000);
    release();
    await ended;
    await waitUntil(
      () => held.idle && held.stats.handled + held.stats.skipped >= 4,
      'the queue to run dry',
      5000,
    );
    expect(setup.emulator.outcome(chat.contactId).wait).toMatchObject({
      result: 'BotParticipantDisconnected',
    });
    expect({
      dispatchedAfterHandoff,
      intent: setup.emulator.contact(chat.contactId).attributes.intent,
    }).toEqual({ dispatchedAfterHandoff: [], intent: 'billing' });
  });

  it('after the chat ended, queued messages are not run (their replies can only fail with CB_SESSION_ENDED)', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    const errors: string[] = [];
    const slow = defineBot({
      name: 'slow',
      displayName: 'Slow',
      setup(bot) {
        bot.on('message', async (ctx) => {
          if (ctx.text === 'first') {
            started = true;
            await gate;
            return;
          }
          await ctx.reply(`answer to ${ctx.text}`);
        });
        bot.catch((error: BotError<Context>) => {
          errors.push(error.code);
        });
      },
    });
    const setup = await hostSetup({ bots: [slow] });
    const chat = await chatWithBot(setup);
    const held = setup.host.chats.get(chat.contactId)!;
    setup.emulator.say(chat.contactId, 'first');
    await waitUntil(() => started, 'the first handler to start', 5000);
    setup.emulator.say(chat.contactId, 'second');
    await waitUntil(() => held.queueDepth === 1, 'the second message to queue', 5000);
    const ended = nextEvent(held.session, 'ended', () => true, 5000);
    setup.emulator.endChat(chat.contactId, 'customer');
    await ended;
    release();
    await waitUntil(
      () => held.idle && held.stats.handled + held.stats.skipped >= 4,
      'the queue to run dry',
      5000,
    );
    expect(errors).toEqual([]);
  });

  it('a timed-out handler is reported to bot.catch once, not again when its late reply is refused', async () => {
    const errors: string[] = [];
    let lateReplyTried = false;
    const hang = defineBot({
      name: 'hang',
      displayName: 'Hang',
      setup(bot) {
        bot.hears('hang', async (ctx) => {
          await new Promise((resolve) => setTimeout(resolve, 400)); // a slow backend call
          lateReplyTried = true;
          await ctx.reply('too late');
        });
        bot.catch((error: BotError<Context>) => {
          errors.push(error.code);
        });
      },
    });
    const setup = await hostSetup({ bots: [hang], host: { handlerTimeoutMs: 100 } });
    const chat = await chatWithBot(setup);
    const timedOut = nextEvent(setup.host, 'handled', (_chat, _kind, _ms, timed) => timed, 5000);
    setup.emulator.say(chat.contactId, 'hang');
    await timedOut;
    await waitUntil(() => lateReplyTried, 'the abandoned handler to try its reply', 5000);
    await waitUntil(() => errors.length >= 2, 'a second report', 1000).catch(() => {});
    expect(errors).toEqual(['CB_HANDLER_TIMEOUT']);
  });
});

describe('shutdown', () => {
  it('handoff: when UpdateContactAttributes fails, the bot still leaves instead of staying in the chat unheld', async () => {
    const echo = defineBot({
      name: 'echo',
      displayName: 'Echo',
      setup: (bot) => void bot.on('message', (ctx) => ctx.reply(ctx.text)),
    });
    const setup = await hostSetup({ bots: [echo], host: { onShutdown: 'handoff' } });
    const chat = await chatWithBot(setup);
    setup.emulator.faults.failNext('UpdateContactAttributes', { count: 50, status: 500 });
    const result = await setup.host.stop();
    expect(result).toMatchObject({ mode: 'handoff', chats: 1 });
    const bot = setup.emulator.contact(chat.contactId).participants.find((p) => p.role === 'CUSTOM_BOT');
    expect({ bot: bot?.state, wait: setup.emulator.outcome(chat.contactId).wait.status }).toEqual({
      bot: 'left',
      wait: 'done',
    });
  });

  it('keep: the chat is not over for the bot, so onEnd (cleanup) does not run', async () => {
    const ends: string[] = [];
    const bot = defineBot({
      name: 'stateful',
      displayName: 'Stateful',
      setup(b) {
        b.on('message', (ctx) => ctx.reply(ctx.text));
        b.onEnd((ctx) => {
          ends.push(ctx.contact.contactId);
        });
      },
    });
    const setup = await hostSetup({ bots: [bot], host: { onShutdown: 'keep' } });
    const chat = await chatWithBot(setup);
    const held = setup.host.chats.get(chat.contactId)!;
    const result = await setup.host.stop();
    expect(result.kept).toHaveLength(1);
    await waitUntil(() => held.idle, 'the queue to settle', 5000);
    expect(ends).toEqual([]);
  });
});
