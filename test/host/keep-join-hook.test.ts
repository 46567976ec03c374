import { describe, expect, it } from 'vitest';
import { defineBot, prepareBot } from '../../src/index.js';
import {
  botMessages,
  chatWithBot,
  hostSetup,
  nextHost,
  waitForBotMessages,
} from '../support/host-harness.js';
import { waitUntil } from '../support/wait.js';

/**
 * The join hook is an update too: a chat kept before its onJoin finished (KeptChat.joined false) is greeted by
 * the next host, once, before the updates handed on with it.
 */
describe('keep while the join hook has not finished', () => {
  it('the next host greets the chat the first host never finished greeting', async () => {
    let release: (() => void) | undefined;
    let joins = 0;
    const bot = prepareBot(
      defineBot({
        name: 'greeter',
        displayName: 'Greeter',
        setup(b) {
          b.onJoin(async (ctx) => {
            joins++;
            if (joins === 1) {
              // e.g. a slow CRM look-up before the greeting: outlives the drain.
              await new Promise<void>((resolve) => {
                release = resolve;
              });
            }
            await ctx.reply('hello');
          });
          b.on('message', (ctx) => ctx.reply(`echo: ${ctx.text}`));
        },
      }),
    );
    const setup = await hostSetup({
      bots: [bot],
      host: { onShutdown: 'keep', drainTimeoutMs: 200, handlerTimeoutMs: 30_000 },
    });
    const chat = await chatWithBot(setup);
    setup.emulator.say(chat.contactId, 'hi');
    const held = setup.host.chats.get(chat.contactId)!;
    await waitUntil(() => release && held.queueDepth === 1, 'onJoin waiting, the message queued');
    const result = await setup.host.stop();
    expect(result.unfinished).toBe(1);
    release?.();

    const next = nextHost(setup, [bot]).host;
    await next.resume(result.kept[0]!);
    // The queued message is answered by the next host…
    await waitForBotMessages(setup.emulator, chat.contactId, 1);
    setup.emulator.say(chat.contactId, 'later');
    await waitUntil(
      () => botMessages(setup.emulator, chat.contactId).includes('echo: later'),
      'the answer to a later message',
    );
    // …after the greeting, which the first host never finished.
    expect(botMessages(setup.emulator, chat.contactId)).toEqual(['hello', 'echo: hi', 'echo: later']);
  });
});
