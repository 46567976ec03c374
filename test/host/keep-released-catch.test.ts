import { describe, expect, it } from 'vitest';
import { defineBot, type KeptChat, prepareBot } from '../../src/index.js';
import { botMessages, chatWithBot, hostSetup, nextHost } from '../support/host-harness.js';
import { waitUntil } from '../support/wait.js';

/**
 * Regression (fixed): after a `keep` stop whose drain timed out, the first host's abandoned handler fails only because its
 * session was released (its next reply is CB_SESSION_ENDED). That failure is reported to `bot.catch` on the OLD
 * host, whose error-handler context can still act on the contact (setAttributes / end go through after close()),
 * while the NEXT host holds the chat and is re-running the same update.
 *
 * README "Restarts without dropping chats": "when the drain times out, the next host gets the update still running
 * and the ones queued behind it". The drop path already treats a released chat's reports as "never this bot's to
 * report" (chat.ts pump: `endedBecause !== 'closed'`); the thrown-error path does not, so a common
 * `bot.catch(e => e.ctx.end())` on the old host ends a chat the new host is serving.
 *
 * Expected: no bot.catch on the released host for the release-caused failure, chat still active on host 2.
 * Before the fix: bot.catch runs on host 1 with CB_SESSION_ENDED and its ctx.end() stops the contact.
 */
describe('keep: a handler abandoned by the release fails on the old host', () => {
  it('the old host does not report it to bot.catch nor act on the chat the next host holds', {
    timeout: 30_000,
  }, async () => {
    const gate: { release?: () => void } = {};
    const firstHost = { on: true };
    const caught: Array<{ code: string }> = [];
    const bot = prepareBot(
      defineBot({
        name: 'slow',
        displayName: 'Slow',
        setup(b) {
          b.on('message', async (ctx) => {
            if (ctx.text === 'slow') {
              const mine = firstHost.on;
              await ctx.reply('working on it');
              if (mine) await new Promise<void>((resolve) => (gate.release = resolve));
              await ctx.reply('done');
              return;
            }
            await ctx.reply(`echo: ${ctx.text}`);
          });
          // A typical last-resort error handler: anything unexpected ends the chat.
          b.catch(async (error) => {
            caught.push({ code: error.code });
            await error.ctx.end().catch(() => {});
          });
        },
      }),
    );
    const setup = await hostSetup({
      bots: [bot],
      host: { onShutdown: 'keep', drainTimeoutMs: 200, handlerTimeoutMs: 30_000 },
    });
    const chat = await chatWithBot(setup);
    setup.emulator.say(chat.contactId, 'slow');
    await waitUntil(() => gate.release, 'the slow handler waiting');
    const held = setup.host.chats.get(chat.contactId)!;
    const result = await setup.host.stop();
    expect(result.unfinished).toBe(1);

    // Host 2 takes the chat over and re-runs 'slow' to completion.
    const next = nextHost(setup, [bot], { host: { onShutdown: 'keep' } });
    const released = gate.release!;
    firstHost.on = false;
    await next.host.resume(result.kept[0] as KeptChat);
    await waitUntil(
      () => botMessages(setup.emulator, chat.contactId).includes('done'),
      'host 2 answered slow',
    );

    // Host 1's abandoned handler now returns: its 'done' reply fails (session released), and host 1's chat
    // queue runs its failure report before going idle.
    released();
    await waitUntil(() => held.idle, "host 1's released chat to finish its turn");

    // Expected: nothing reported on the released host, and the chat still served by host 2.
    expect(setup.emulator.contact(chat.contactId).state).toBe('active'); // before the fix: 'ended' (host 1 stopped it)
    expect(caught).toEqual([]); // before the fix: [{ code: 'CB_SESSION_ENDED' }] reported on host 1
  });
});
