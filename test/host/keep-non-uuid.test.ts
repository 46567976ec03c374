import { describe, expect, it } from 'vitest';
import { sequentialIds } from '../../src/emulator/index.js';
import { BotHost, ChatClient, defineBot, prepareBot } from '../../src/index.js';
import { FAST_TIMINGS } from '../support/harness.js';
import { botMessages, chatWithBot, hostSetup, waitForBotMessages } from '../support/host-harness.js';
import { dummyCredentials } from '../support/sdk.js';
import { waitUntil } from '../support/wait.js';

/**
 * The done ring (LatestItems) keeps Ids that are not UUIDs as strings (`others`). With such Ids, a keep whose
 * drain timed out still hands over exactly the unfinished updates, also when the bot's own replies overflow the
 * ring, and a second keep/resume round from the resumed host's ring (seeded from the session at construction)
 * neither repeats nor loses anything.
 */
describe('keep and resume with item Ids that are not UUIDs', () => {
  it.each([0, 12])('hands over the unfinished updates only (%i replies while running)', async (replies) => {
    const gates: Array<() => void> = [];
    let hold = true;
    const runs = new Map<string, number>();
    const bot = prepareBot(
      defineBot({
        name: 'slow',
        displayName: 'Slow',
        setup(b) {
          b.on('message', async (ctx) => {
            runs.set(ctx.text ?? '', (runs.get(ctx.text ?? '') ?? 0) + 1);
            if (ctx.text === 'slow') {
              for (let i = 1; i <= replies; i++) await ctx.reply(`part ${i}`);
              if (hold) await new Promise<void>((resolve) => gates.push(resolve));
            }
            await ctx.reply(`echo: ${ctx.text}`);
          });
        },
      }),
    );
    const setup = await hostSetup({
      bots: [bot],
      emulator: { ids: sequentialIds() },
      host: { onShutdown: 'keep', drainTimeoutMs: 200, handlerTimeoutMs: 30_000 },
    });
    const chat = await chatWithBot(setup);
    expect(chat.contactId).toMatch(/^contact-/);
    setup.emulator.say(chat.contactId, 'a');
    await waitForBotMessages(setup.emulator, chat.contactId, 1);
    const held = setup.host.chats.get(chat.contactId)!;
    setup.emulator.say(chat.contactId, 'slow');
    setup.emulator.say(chat.contactId, 'b');
    await waitUntil(() => gates.length === 1 && held.queueDepth === 1, 'slow running, b queued');
    await waitForBotMessages(setup.emulator, chat.contactId, 1 + replies);
    const first = await setup.host.stop();
    expect(first.kept[0]!.snapshot.cursor).toMatch(/^item-/);
    hold = false;
    gates[0]!();

    const hosts: BotHost[] = [];
    const clients: ChatClient[] = [];
    const another = () => {
      const client = new ChatClient({
        region: setup.emulator.region,
        endpoint: setup.emulator.endpoint,
        credentials: dummyCredentials,
        timings: FAST_TIMINGS,
      });
      const host = new BotHost({ client, bots: [bot], onShutdown: 'keep' });
      clients.push(client);
      hosts.push(host);
      return host;
    };
    try {
      const second = another();
      await second.resume(first.kept[0]!);
      setup.emulator.say(chat.contactId, 'c');
      await waitUntil(() => runs.get('c') === 1, 'c handled');
      await waitUntil(() => second.chats.get(chat.contactId)?.idle, 'the second host idle');
      const kept = (await second.stop()).kept;
      setup.emulator.say(chat.contactId, 'd');
      const third = another();
      await third.resume(kept[0]!);
      await waitUntil(() => runs.get('d') === 1, 'd handled');
      setup.emulator.say(chat.contactId, 'e');
      await waitUntil(() => botMessages(setup.emulator, chat.contactId).includes('echo: e'), 'e answered');
      expect(Object.fromEntries(runs)).toEqual({ a: 1, slow: 2, b: 1, c: 1, d: 1, e: 1 });
      expect(botMessages(setup.emulator, chat.contactId).filter((m) => m.startsWith('echo'))).toEqual([
        'echo: a',
        'echo: slow',
        'echo: b',
        'echo: c',
        'echo: d',
        'echo: e',
      ]);
    } finally {
      for (const host of hosts) await host.stop();
      for (const client of clients) client.closeAll();
    }
  });
});
