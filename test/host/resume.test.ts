import { describe, expect, it } from 'vitest';
import { defineBot, type KeptChat, prepareBot } from '../../src/index.js';
import {
  botMessages,
  chatWithBot,
  hostSetup,
  nextHost,
  waitForBotMessages,
} from '../support/host-harness.js';
import { waitUntil } from '../support/wait.js';

describe('BotHost.resume: taking over a chat kept at shutdown', () => {
  it('answers what the first host left unfinished and what was said meanwhile, each once, without greeting again', async () => {
    let release: (() => void) | undefined;
    let slowRuns = 0;
    const bot = prepareBot(
      defineBot({
        name: 'relay',
        displayName: 'Relay',
        setup(b) {
          b.onJoin((ctx) => ctx.reply(`hello, ${ctx.contact.attributes.customer ?? 'stranger'}`));
          b.on('message', async (ctx) => {
            if (ctx.text === 'slow') {
              slowRuns++;
              await ctx.reply('working on it');
              // The first host's run outlives its drain; the second host's finishes.
              if (slowRuns === 1) {
                await new Promise<void>((resolve) => {
                  release = resolve;
                });
              }
              await ctx.reply('done');
              return;
            }
            await ctx.reply(`echo: ${ctx.text}`);
          });
        },
      }),
    );
    const setup = await hostSetup({
      bots: [bot],
      host: { onShutdown: 'keep', drainTimeoutMs: 200, handlerTimeoutMs: 30_000 },
    });
    const chat = await chatWithBot(setup, { customer: 'Ada' });
    setup.emulator.say(chat.contactId, 'one');
    await waitForBotMessages(setup.emulator, chat.contactId, 2);
    const held = setup.host.chats.get(chat.contactId)!;
    setup.emulator.say(chat.contactId, 'slow');
    setup.emulator.say(chat.contactId, 'two');
    await waitUntil(() => release && held.queueDepth === 1, 'the slow handler waiting, one update queued');
    await waitForBotMessages(setup.emulator, chat.contactId, 3);

    const result = await setup.host.stop();
    expect(result.kept).toEqual([
      {
        bot: 'relay',
        attributes: expect.objectContaining({ customer: 'Ada' }),
        joined: true,
        snapshot: expect.anything(),
      },
    ]);
    release?.();
    setup.emulator.say(chat.contactId, 'three');

    const next = nextHost(setup, [bot]);
    const resumed = await next.host.resume(result.kept[0]!);
    expect(resumed).toMatchObject({ contactId: chat.contactId, bot: 'relay', reused: false });
    await waitForBotMessages(setup.emulator, chat.contactId, 6);
    // The repeated 'working on it' is the same SendMessage (same ClientToken): the service keeps one.
    expect(botMessages(setup.emulator, chat.contactId)).toEqual([
      'hello, Ada',
      'echo: one',
      'working on it',
      'done',
      'echo: two',
      'echo: three',
    ]);
    setup.emulator.say(chat.contactId, 'four');
    await waitForBotMessages(setup.emulator, chat.contactId, 7);
    expect(botMessages(setup.emulator, chat.contactId)).toEqual([
      'hello, Ada',
      'echo: one',
      'working on it',
      'done',
      'echo: two',
      'echo: three',
      'echo: four',
    ]);
    expect(slowRuns).toBe(2);
    // A repeat is the same participant.
    expect(await next.host.resume(result.kept[0]!)).toMatchObject({ reused: true });
  });

  it('is CB_CHAT_ENDED for a chat that ended while nobody held it, and CB_UNKNOWN_BOT for a bot not loaded', async () => {
    const echo = prepareBot(
      defineBot({
        name: 'echo',
        displayName: 'Echo',
        setup: (b) => b.on('message', (ctx) => ctx.reply(ctx.text)),
      }),
    );
    const setup = await hostSetup({ bots: [echo], host: { onShutdown: 'keep' } });
    const ended = await chatWithBot(setup);
    const [kept] = (await setup.host.stop()).kept as [KeptChat];
    const next = nextHost(setup, [echo]);
    await expect(next.host.resume({ ...kept, bot: 'gone' })).rejects.toMatchObject({
      code: 'CB_UNKNOWN_BOT',
    });
    setup.emulator.endChat(ended.contactId);
    await expect(next.host.resume(kept)).rejects.toMatchObject({ code: 'CB_CHAT_ENDED' });
    expect(next.host.chats.size).toBe(0);
  });
});
