// Regression (fixed): a chat released (keep) while the bot.catch of its FIRST CB_QUEUE_FULL drop runs still reports the
// SECOND drop to bot.catch afterwards, with a context that was never revoked: its ctx.end() stops the contact
// the next host holds.
//
// README "Queue cap": a drop is reported in the chat's turn; "a host that stops before then never reports it,
// even once its abandoned handlers return, and the next host handles it". Commit 1848357: "a chat released for
// another host (keep) revokes the handler and error-handler contexts still running, and does not report their
// failure ... a bot.catch(e => e.ctx.end()) on the old host stopped the contact the next host held".
//
// Cause: HostedChat.pump checks `endedBecause !== 'closed'` once, before the loop over entry.drops; the release
// lands during the first report (failInTurn), and the next report's failInTurn adds a fresh context to `acting`
// after onEnded already revoked what was there.
import { describe, expect, it } from 'vitest';
import { defineBot, prepareBot } from '../../src/index.js';
import { chatWithBot, hostSetup } from '../support/host-harness.js';
import { waitUntil } from '../support/wait.js';

describe('release during the report of the first of two drops', () => {
  it('does not report the second drop on the released host, nor let its bot.catch end the contact', {
    timeout: 30_000,
  }, async () => {
    const gates: { slow?: () => void; catch?: () => void } = {};
    const caught: string[] = [];
    const stopped: string[] = []; // drops whose bot.catch managed to StopContact
    const bot = prepareBot(
      defineBot({
        name: 'drops',
        displayName: 'Drops',
        setup(b) {
          b.on('message', async (ctx) => {
            if (ctx.text === 'slow') await new Promise<void>((resolve) => (gates.slow = resolve));
            await ctx.reply(`echo: ${ctx.text}`);
          });
          b.catch(async (error) => {
            if (error.code !== 'CB_QUEUE_FULL') return;
            caught.push(error.message);
            // The first report is slow (an apology that takes a while): the host stops meanwhile.
            if (caught.length === 1) await new Promise<void>((resolve) => (gates.catch = resolve));
            // A typical last resort: ends the chat (refused once the context is revoked).
            await error.ctx.end().then(
              () => void stopped.push(error.message),
              () => {},
            );
          });
        },
      }),
    );
    const setup = await hostSetup({
      bots: [bot],
      host: { onShutdown: 'keep', drainTimeoutMs: 200, handlerTimeoutMs: 30_000, maxQueueDepth: 1 },
    });
    const chat = await chatWithBot(setup);
    const held = setup.host.chats.get(chat.contactId)!;
    setup.emulator.say(chat.contactId, 'slow');
    await waitUntil(() => gates.slow, 'the slow handler running');
    setup.emulator.say(chat.contactId, 'q1');
    await waitUntil(() => held.queueDepth === 1, 'q1 queued');
    setup.emulator.say(chat.contactId, 'q2');
    setup.emulator.say(chat.contactId, 'q3');
    await waitUntil(() => held.stats.dropped === 2, 'q2 and q3 dropped with CB_QUEUE_FULL');

    gates.slow!();
    await waitUntil(() => gates.catch, 'bot.catch for the first drop running');
    // keep: the drain times out (bot.catch still running) and the chat is released.
    await setup.host.stop();
    expect(held.session.endedBecause).toBe('closed');

    gates.catch!();
    await waitUntil(() => held.idle, "the released chat's queue to run dry");
    // The StopContact of the second report is awaited inside bot.catch, which the queue waits for: idle covers it.
    // Expected: the contact is still active (the next host's to serve), and only the drop whose report was
    // already under way was seen. Actual: bot.catch got the second drop too and its ctx.end() stopped the contact.
    expect({ state: setup.emulator.contact(chat.contactId).state, caught: caught.length, stopped }).toEqual({
      state: 'active',
      caught: 1,
      stopped: [],
    });
  });
});
