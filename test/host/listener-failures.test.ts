// BotHost's events fire inside a chat's queue. A listener that throws, or returns a promise that rejects, is
// logged as listener-failed; it neither stops the chat, nor the other listeners, nor becomes an unhandled
// rejection (which stops a Node 20 process). Regressions: a sync throw broke the chat's pump, then an async
// rejection was still unhandled.
import { describe, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { chatWithBot, hostSetup, waitForBotMessages } from '../support/host-harness.js';
import { recordUnhandled, turns } from '../support/next-harness.js';

const echo = defineBot({
  name: 'echo-l',
  displayName: 'Echo',
  setup(b) {
    b.on('message', (ctx) => ctx.reply(`echo ${ctx.text}`));
  },
});

const failing: Record<string, () => unknown> = {
  throws: () => {
    throw new Error('listener boom');
  },
  rejects: async () => {
    await Promise.resolve();
    throw new Error('listener boom');
  },
};

describe("a BotHost 'handled' listener that fails", () => {
  for (const [how, listener] of Object.entries(failing)) {
    it(`${how}: the chat goes on, the next listener still runs, and nothing is unhandled`, async () => {
      const rec = recordUnhandled();
      try {
        const setup = await hostSetup({ bots: [echo] });
        const after: string[] = [];
        setup.host.on('handled', listener);
        setup.host.on('handled', (_chat, kind) => void after.push(kind));
        const chat = await chatWithBot(setup);
        setup.emulator.say(chat.contactId, 'one');
        setup.emulator.say(chat.contactId, 'two');
        await waitForBotMessages(setup.emulator, chat.contactId, 2, 3000);
        await turns();
        expect(rec.reasons.map(String)).toEqual([]);
        expect(after.filter((kind) => kind === 'message')).toHaveLength(2);
      } finally {
        rec.stop();
      }
    }, 20_000);
  }

  it('is listed by listeners() and removed by off() as the function that was given to on()', async () => {
    const setup = await hostSetup({ bots: [echo] });
    const calls: string[] = [];
    const listener = () => void calls.push('handled');
    setup.host.on('handled', listener);
    expect(setup.host.listenerCount('handled')).toBe(1);
    expect(setup.host.listeners('handled')).toEqual([listener]); // the function given, not its guard
    setup.host.off('handled', listener);
    expect(setup.host.listenerCount('handled')).toBe(0);
    const chat = await chatWithBot(setup);
    setup.emulator.say(chat.contactId, 'one');
    await waitForBotMessages(setup.emulator, chat.contactId, 1, 3000);
    expect(calls).toEqual([]);
  }, 20_000);
});
