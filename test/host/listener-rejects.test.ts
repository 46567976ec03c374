// Regression (fixed; cb56057 caught only synchronous throws): BotHost.emit now catches a listener that throws synchronously, but an ASYNC
// listener (`host.on('handlerError', async (chat, e) => { await alerting.send(e) })`) that rejects is still an
// unhandled rejection, which stops a Node 20 process and every chat in it. README "Embedding the host": "a
// listener that throws is logged as `listener-failed` and changes nothing for the chat". The session API already
// treats an async listener's rejection like a throw (ChatSession.callListener); BotHost.emit does not.
import { expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { chatWithBot, hostSetup, waitForBotMessages } from '../support/host-harness.js';
import { recordUnhandled, turns } from '../support/next-harness.js';

it("an async BotHost 'handled' listener that rejects does not become an unhandled rejection", async () => {
  // Expected: unhandled = [] (logged as listener-failed). Before the fix: ['Error: async listener boom'].
  const rec = recordUnhandled();
  try {
    const bot = defineBot({
      name: 'echo-al',
      displayName: 'Echo',
      setup(b) {
        b.on('message', (ctx) => ctx.reply(`echo ${ctx.text}`));
      },
    });
    const setup = await hostSetup({ bots: [bot] });
    setup.host.on('handled', async () => {
      await Promise.resolve();
      throw new Error('async listener boom');
    });
    const chat = await chatWithBot(setup);
    setup.emulator.say(chat.contactId, 'one');
    await waitForBotMessages(setup.emulator, chat.contactId, 1, 3000);
    await rec.first.wait(1000, 'no unhandled rejection').catch(() => {});
    await turns();
    expect(rec.reasons.map(String)).toEqual([]);
  } finally {
    rec.stop();
  }
}, 20_000);
