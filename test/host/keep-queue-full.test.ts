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

/**
 * A chat whose bot holds every message starting with "slow" until released (on the first host only), with a
 * queue of one: 'slow 1' runs, 'q1' waits, 'q2' is dropped with CB_QUEUE_FULL.
 */
async function chatWithDrop(options: { apology?: string } = {}) {
  const gates = new Map<string, () => void>();
  const dropped: string[] = [];
  const state = { firstHost: true };
  const bot = prepareBot(
    defineBot({
      name: 'slow',
      displayName: 'Slow',
      setup(b) {
        b.on('message', async (ctx) => {
          if (state.firstHost && ctx.text?.startsWith('slow')) {
            await new Promise<void>((resolve) => gates.set(ctx.text!, resolve));
          }
          await ctx.reply(`echo: ${ctx.text}`);
        });
        b.catch(async (error) => {
          if (error.code !== 'CB_QUEUE_FULL') return;
          dropped.push(error.message); // told, whether or not the apology can still be posted
          if (options.apology) await error.ctx.reply(options.apology);
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
  setup.emulator.say(chat.contactId, 'slow 1');
  await waitUntil(() => gates.has('slow 1'), 'the first slow handler running');
  setup.emulator.say(chat.contactId, 'q1');
  await waitUntil(() => held.queueDepth === 1, 'q1 queued');
  setup.emulator.say(chat.contactId, 'q2'); // the queue is full: dropped (the bot is told after q1)
  await waitUntil(() => held.stats.dropped === 1, 'q2 dropped with CB_QUEUE_FULL');

  /** Stops the host (keep), releases what still runs, and resumes on another host: what the bot said then. */
  const restart = async (): Promise<string[]> => {
    const result = await setup.host.stop();
    expect(result.unfinished).toBe(1);
    for (const release of gates.values()) release();
    state.firstHost = false;
    await nextHost(setup, [bot]).host.resume(result.kept[0] as KeptChat);
    setup.emulator.say(chat.contactId, 'after');
    await waitUntil(
      () => botMessages(setup.emulator, chat.contactId).includes('echo: after'),
      'the answer to a message sent after the resume',
    );
    return botMessages(setup.emulator, chat.contactId);
  };
  return { setup, chat, gates, restart, dropped, held };
}

/**
 * An update dropped with CB_QUEUE_FULL is done with (the bot was told): the kept position covers it, so the next
 * host does not handle it late, after updates the customer sent later were answered.
 */
describe('keep after an update was dropped with CB_QUEUE_FULL', () => {
  it('the next host does not resurrect the dropped update out of order', async () => {
    const { setup, chat, gates, restart } = await chatWithDrop();
    gates.get('slow 1')!();
    await waitForBotMessages(setup.emulator, chat.contactId, 2);
    // A later update still running at shutdown: the chat is kept with it.
    setup.emulator.say(chat.contactId, 'slow 2');
    await waitUntil(() => gates.has('slow 2'), 'the second slow handler running');
    expect(await restart()).toEqual(['echo: slow 1', 'echo: q1', 'echo: slow 2', 'echo: after']);
  });
});

/**
 * When the drain times out before the updates delivered ahead of a dropped one finished, the kept position is
 * before it too: the next host gets it with them. (Marking it done at once could move the kept position past the
 * unfinished ones, which would lose them.)
 */
describe('keep when the drain times out with updates ahead of a dropped one unfinished', () => {
  it('the next host gets the dropped update with the unfinished ones, in order', async () => {
    const { restart } = await chatWithDrop();
    // The drain times out: 'slow 1' still running, 'q1' queued.
    expect(await restart()).toEqual(['echo: slow 1', 'echo: q1', 'echo: q2', 'echo: after']);
  });
});

/**
 * The drop is reported in the chat's turn, after the updates delivered before it: when the drain times out before
 * they finished, it was never reported, and the next host answers it. No apology for an update that was answered.
 */
describe('keep after a CB_QUEUE_FULL drop, the drain timed out before its turn', () => {
  it('the next host answers the dropped update, and no apology was posted for it', async () => {
    const apology = 'too many messages, one moment please';
    const { restart, dropped, held } = await chatWithDrop({ apology });
    expect(await restart()).toEqual(['echo: slow 1', 'echo: q1', 'echo: q2', 'echo: after']);
    // The released chat's queue runs dry on the first host (its abandoned handler returned): it reports nothing.
    await waitUntil(() => held.idle, "the released chat's queue to run dry");
    expect(dropped).toEqual([]);
  });
});
