import { describe, expect, it } from 'vitest';
import { ChatClient, defineBot } from '../../src/index.js';
import { chatWithBot, hostSetup, waitForBotMessages } from '../support/host-harness.js';
import { dummyCredentials } from '../support/sdk.js';
import { waitUntil } from '../support/wait.js';

/**
 * A `keep` shutdown whose drain times out hands the chat to another host with updates the bot never finished:
 * the snapshot must not count them as seen, or the next host never gets them.
 */
describe('keep shutdown with updates the bot has not finished', () => {
  it.each([
    ['', 0],
    [', after the bot replied more times than a snapshot keeps items', 12],
  ])(
    'the next host gets the running update and the queued ones, and none it handled%s',
    async (_, replies) => {
      let release: (() => void) | undefined;
      const bot = defineBot({
        name: 'slow',
        displayName: 'Slow',
        setup(b) {
          b.on('message', async (ctx) => {
            if (ctx.text === 'slow') {
              // The bot's own messages arrive while it still runs: they must not carry the position past it.
              for (let i = 1; i <= replies; i++) await ctx.reply(`part ${i}`);
              // Runs past the drain timeout.
              await new Promise<void>((resolve) => {
                release = resolve;
              });
              return;
            }
            await ctx.reply(`echo: ${ctx.text}`);
          });
        },
      });
      const setup = await hostSetup({
        bots: [bot],
        host: { onShutdown: 'keep', drainTimeoutMs: 200, handlerTimeoutMs: 30_000 },
      });
      const chat = await chatWithBot(setup);
      setup.emulator.say(chat.contactId, 'handled');
      await waitForBotMessages(setup.emulator, chat.contactId, 1);
      const held = setup.host.chats.get(chat.contactId)!;
      setup.emulator.say(chat.contactId, 'slow');
      setup.emulator.say(chat.contactId, 'queued 1');
      setup.emulator.say(chat.contactId, 'queued 2');
      await waitUntil(() => release && held.queueDepth === 2, 'the slow handler waiting, two updates queued');
      await waitForBotMessages(setup.emulator, chat.contactId, 1 + replies);

      const result = await setup.host.stop();
      expect(result.unfinished).toBe(1);
      release?.();

      const client = new ChatClient({
        region: setup.emulator.region,
        endpoint: setup.emulator.endpoint,
        credentials: dummyCredentials,
      });
      try {
        const session = await client.resume(result.kept[0]!.snapshot);
        const texts: string[] = [];
        session.on('message', (item) => {
          if (item.ParticipantRole === 'CUSTOMER') texts.push(item.Content ?? '');
        });
        setup.emulator.say(chat.contactId, 'after');
        await waitUntil(() => texts.includes('after'), 'the message sent after the resume');
        expect(texts).toEqual(['slow', 'queued 1', 'queued 2', 'after']);
      } finally {
        client.closeAll();
      }
    },
  );
});
