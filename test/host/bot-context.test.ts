import { describe, expect, it } from 'vitest';
import { type BotError, type Context, defineBot, prepareBot } from '../../src/index.js';
import {
  botMessages,
  chatWithBot,
  hostSetup,
  nextHost,
  postJoin,
  waitForBotMessages,
} from '../support/host-harness.js';
import { waitUntil } from '../support/wait.js';

// What a bot's context does across errors, restarts and the end of the chat (README "How the host runs bots").

// The error handler's apology has a ClientToken of its own: the update's answer, when a next host handles it
// again, is posted rather than taken for the apology.
describe('bot.catch after a thrown handler error, then a keep restart', () => {
  it('the re-run answer is posted, not swallowed by the apology token', async () => {
    let backendUp = false;
    const answered: string[] = [];
    let releaseCatch: (() => void) | undefined;
    const bot = prepareBot(
      defineBot({
        name: 'orders',
        displayName: 'Orders',
        setup(b) {
          b.on('message', async (ctx) => {
            if (!backendUp) throw new Error('order service unavailable');
            answered.push(ctx.text);
            await ctx.reply(`order ${ctx.text} ships tomorrow`);
          });
          b.catch(async (error: BotError<Context>) => {
            await error.ctx.reply('Sorry, something went wrong.');
            // A slow error tracker: still running when the host stops.
            if (!backendUp)
              await new Promise<void>((resolve) => {
                releaseCatch = resolve;
              });
          });
        },
      }),
    );
    const setup = await hostSetup({
      bots: [bot],
      host: { onShutdown: 'keep', drainTimeoutMs: 200, handlerTimeoutMs: 30_000 },
    });
    const chat = await chatWithBot(setup);
    setup.emulator.say(chat.contactId, '42');
    await waitForBotMessages(setup.emulator, chat.contactId, 1);
    await waitUntil(() => releaseCatch, 'bot.catch to be busy');
    const result = await setup.host.stop();
    expect(result.unfinished).toBe(1);
    backendUp = true;
    releaseCatch?.();

    const next = nextHost(setup, [bot]).host;
    await next.resume(result.kept[0]!);
    setup.emulator.say(chat.contactId, '43');
    await waitForBotMessages(setup.emulator, chat.contactId, 2);
    await waitUntil(
      () => botMessages(setup.emulator, chat.contactId).includes('order 43 ships tomorrow'),
      'the answer to the later message',
    );
    // The next host did re-run 42 and its handler did call ctx.reply for it...
    expect(answered).toEqual(['42', '43']);
    // The apology, then the answer to 42 (re-run by the next host; it used to carry the apology's ClientToken and
    // be taken for it), then the answer to 43.
    expect(botMessages(setup.emulator, chat.contactId)).toEqual([
      'Sorry, something went wrong.',
      'order 42 ships tomorrow',
      'order 43 ships tomorrow',
    ]);
  });
});

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code ?? String(e),
  );

// No flow waits to take a chat back that is over: a handoff then is refused, not reported done.
describe('ctx.handoff() once the chat is over', () => {
  it('on the chat-ending update, fails with a coded error instead of resolving', async () => {
    const results: Array<{ kind: string; handoff: string }> = [];
    const bot = defineBot({
      name: 'late',
      displayName: 'Late',
      setup(b) {
        b.on(['participant.left', 'chat.ended'], async (ctx) => {
          results.push({ kind: ctx.kind, handoff: await outcome(ctx.handoff({ intent: 'agent' })) });
        });
      },
    });
    const setup = await hostSetup({ bots: [bot] });
    const chat = await chatWithBot(setup);
    setup.emulator.endChat(chat.contactId, 'customer');
    await waitUntil(() => results.length >= 2, 'both chat-ending updates to be handled', 5000);
    expect(setup.emulator.outcome(chat.contactId).wait.result).not.toBe('BotParticipantDisconnected');
    for (const r of results) expect(['CB_CHAT_ENDED', 'CB_SESSION_ENDED']).toContain(r.handoff);
  });
});

// After a handoff the flow branches on the attributes the bot handed back: the same handler (or onEnd) must not
// change them, nor stop the contact the flow now routes.
describe('ctx.setAttributes() and ctx.end() after the bot handed the chat back', () => {
  it('are refused with CB_SESSION_ENDED and change nothing', async () => {
    const results: Record<string, string> = {};
    const bot = defineBot({
      name: 'after-handoff',
      displayName: 'After handoff',
      setup(b) {
        b.hears('agent', async (ctx) => {
          await ctx.handoff({ intent: 'agent' });
          results.setAttributes = await outcome(ctx.setAttributes({ intent: 'changed' }));
          results.end = await outcome(ctx.end());
        });
        b.onEnd(async (ctx) => {
          results.onEndSetAttributes = await outcome(ctx.setAttributes({ intent: 'from-onEnd' }));
        });
      },
    });
    const setup = await hostSetup({ bots: [bot] });
    const chat = await chatWithBot(setup);
    setup.emulator.say(chat.contactId, 'agent');
    await waitUntil(() => Object.keys(results).length === 3, 'the handler and onEnd to finish', 5000);
    expect(results).toEqual({
      setAttributes: 'CB_SESSION_ENDED',
      end: 'CB_SESSION_ENDED',
      onEndSetAttributes: 'CB_SESSION_ENDED',
    });
    const contact = setup.emulator.contact(chat.contactId);
    expect(contact.attributes.intent).toBe('agent');
    expect(contact.state).toBe('active');
    expect(setup.emulator.calls.count('StopContact')).toBe(0);
  });
});

// Connect scopes ClientToken idempotency by contact (protocol.md §1.3); the emulator by participant, so the
// tokens themselves are compared: the second bot's greeting must not be taken for the first one's.
describe('reply ClientTokens of two bot participants in one contact', () => {
  it('differ for the greetings of two joins of the same contact (after a handoff)', async () => {
    const bot = defineBot({
      name: 'greeter',
      displayName: 'Greeter',
      setup(b) {
        b.onJoin((ctx) => ctx.reply('Hi, how can I help?'));
        b.hears('agent', (ctx) => ctx.handoff({ intent: 'agent' }));
      },
    });
    const setup = await hostSetup({ bots: [bot] });
    const chat = await chatWithBot(setup);
    await waitForBotMessages(setup.emulator, chat.contactId, 1);
    setup.emulator.say(chat.contactId, 'agent');
    await waitUntil(() => setup.emulator.outcome(chat.contactId).wait.status === 'done', 'the handoff');
    const again = await postJoin(setup.joinUrl, {
      instanceId: setup.emulator.instanceId,
      contactId: chat.contactId,
    });
    expect(again.status).toBe(200);
    await waitForBotMessages(setup.emulator, chat.contactId, 2);
    const tokens = setup.emulator.calls.log
      .filter((call) => call.operation === 'SendMessage' && call.status === 200)
      .map((call) => call.clientToken);
    expect(tokens).toHaveLength(2);
    expect(new Set(tokens).size).toBe(2);
  });
});

// README, handler timeout: "the abandoned handler can no longer reply (a late reply would arrive out of order)".
// A reply it started before the timeout and that was still retrying (a 500) went on, and landed after the next
// message's answer.
describe('a handler abandoned at its timeout while its reply is retried', () => {
  it("its reply gives up: it is not posted after the next message's answer", async () => {
    const settled: string[] = [];
    const bot = prepareBot(
      defineBot({
        name: 'echo',
        displayName: 'Echo',
        setup(b) {
          b.on('message', async (ctx) => {
            try {
              await ctx.reply(`echo: ${ctx.text}`);
            } finally {
              settled.push(ctx.text);
            }
          });
          b.catch(() => {});
        },
      }),
    );
    const setup = await hostSetup({
      bots: [bot],
      host: { handlerTimeoutMs: 300 },
      client: { retry: { retries: 4, minDelayMs: 600, maxDelayMs: 800 } },
    });
    const { emulator } = setup;
    const chat = await chatWithBot(setup);
    emulator.faults.failNext('SendMessage', { count: 1, status: 500 }); // first's reply waits ≥ 600 ms to retry
    emulator.say(chat.contactId, 'first');
    emulator.say(chat.contactId, 'second');
    await waitUntil(() => settled.includes('first') && settled.includes('second'), 'both handlers settled');
    expect(botMessages(emulator, chat.contactId)).toEqual(['echo: second']);
  });
});
