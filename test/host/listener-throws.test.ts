// Regression (fixed): HostedChat calls the host's event hooks (options.onHandled / onHandlerError / onReplied / onReceived →
// BotHost.emit('handled' | 'handlerError' | 'replied' | 'received')) unguarded inside the async queue pump
// (runEntry → pump, started with `void this.pump()`). A listener that throws (e.g. a metrics exporter with a bug)
// makes pump() reject with nobody handling it: an unhandled rejection, which stops a Node 20 process by default,
// and it aborts the pump loop mid-entry (markDone/followers for that entry are skipped). The session API isolates
// its listeners (README "The session API": a listener that throws "changes nothing"); BotHost's documented events
// (README "Embedding the host": events `handled`, `replied`, `handlerError`...) do not.
import { expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { chatWithBot, hostSetup, waitForBotMessages } from '../support/host-harness.js';
import { recordUnhandled, turns } from '../support/next-harness.js';

it("a BotHost 'handled' listener that throws does not become an unhandled rejection", async () => {
  // Expected: unhandled = [] (the listener failure is logged/isolated). Before the fix: ['Error: listener boom'].
  const rec = recordUnhandled();
  try {
    const bot = defineBot({
      name: 'echo-l',
      displayName: 'Echo',
      setup(b) {
        b.on('message', (ctx) => ctx.reply(`echo ${ctx.text}`));
      },
    });
    const setup = await hostSetup({ bots: [bot] });
    setup.host.on('handled', () => {
      throw new Error('listener boom');
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
