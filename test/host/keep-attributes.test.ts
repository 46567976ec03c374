import { describe, expect, it } from 'vitest';
import { defineBot, prepareBot } from '../../src/index.js';
import {
  botMessages,
  chatWithBot,
  hostSetup,
  nextHost,
  waitForBotMessages,
} from '../support/host-harness.js';

/**
 * A resumed bot's per-chat state starts from sessionDefaults; what it saved with ctx.setAttributes travels with
 * the kept chat (KeptChat.attributes), so the resumed bot reads it as ctx.contact.attributes, as the bot did
 * before the restart.
 */
describe('state kept in contact attributes across a keep/resume', () => {
  it('the resumed bot sees the attributes the bot set before the restart', async () => {
    const bot = prepareBot(
      defineBot({
        name: 'memo',
        displayName: 'Memo',
        setup(b) {
          b.on('message', async (ctx) => {
            const [verb, value] = (ctx.text ?? '').split(' ');
            if (verb === 'remember') {
              await ctx.setAttributes({ remembered: value! });
              await ctx.reply('ok');
            } else await ctx.reply(`recalled: ${ctx.contact.attributes.remembered ?? 'nothing'}`);
          });
        },
      }),
    );
    const setup = await hostSetup({ bots: [bot], host: { onShutdown: 'keep' } });
    const chat = await chatWithBot(setup);
    setup.emulator.say(chat.contactId, 'remember blue');
    await waitForBotMessages(setup.emulator, chat.contactId, 1);
    expect(setup.emulator.contact(chat.contactId).attributes.remembered).toBe('blue');
    // On this host too, before any restart (it read the join's attributes only).
    setup.emulator.say(chat.contactId, 'recall');
    await waitForBotMessages(setup.emulator, chat.contactId, 2);
    const { kept } = await setup.host.stop();

    const next = nextHost(setup, [bot]).host;
    await next.resume(kept[0]!);
    setup.emulator.say(chat.contactId, 'recall');
    await waitForBotMessages(setup.emulator, chat.contactId, 3);
    expect(botMessages(setup.emulator, chat.contactId)).toEqual(['ok', 'recalled: blue', 'recalled: blue']);
  });
});
