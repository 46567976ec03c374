import { describe, expect, it } from 'vitest';
import { defineBot, prepareBot } from '../../src/index.js';
import { chatWithBot, hostSetup, nextHost, postJoin } from '../support/host-harness.js';
import { waitUntil } from '../support/wait.js';

const echo = defineBot({
  name: 'echo',
  displayName: 'Echo',
  setup: (bot) => void bot.on('message', (ctx) => ctx.reply(ctx.text)),
});

/**
 * A join still opening its socket when the drain ends: the shutdown closes its session, the join is answered as
 * failed, and its bot must leave the chat: nobody holds it, and it is not among the kept chats.
 */
describe.each(['keep', 'handoff'] as const)('a join cut short by stop() (onShutdown %s)', (mode) => {
  it('does not leave an orphaned, connected bot participant that nobody holds or keeps', async () => {
    const setup = await hostSetup({ bots: [echo], host: { drainTimeoutMs: 100, onShutdown: mode } });
    setup.emulator.setFlow(undefined);
    const chat = setup.emulator.startChat();
    setup.emulator.faults.subscribeAcks(undefined, { drop: 100 });
    const answer = postJoin(setup.joinUrl, {
      instanceId: setup.emulator.instanceId,
      contactId: chat.contactId,
    });
    await waitUntil(() => setup.client.sessions.size === 1, 'the join to reach start()', 5000);
    const result = await setup.host.stop();
    const { status, body } = await answer;
    expect(status).not.toBe(200);
    // Only the host went away, not the chat: the flow is not told the chat ended (409, no retry).
    expect(setup.emulator.contact(chat.contactId).state).not.toBe('ended');
    expect({ status, code: body.code }).not.toEqual({ status: 409, code: 'CB_CHAT_ENDED' });
    setup.emulator.faults.clear();
    const bot = () =>
      setup.emulator.contact(chat.contactId).participants.find((p) => p.role === 'CUSTOM_BOT');
    // The join failed and the chat is not among the kept ones: the bot must have left it.
    expect(result.kept).toEqual([]);
    await waitUntil(() => bot()?.state !== 'connected', 'the bot participant to leave', 3000);
  });
});

/** The same for a take-over (BotHost.resume) under way in a host whose onShutdown is `handoff`: it leaves too. */
describe('a take-over cut short by stop() in a host that does not keep its chats', () => {
  it('does not leave the resumed participant connected and unheld', async () => {
    const setup = await hostSetup({ bots: [echo], host: { onShutdown: 'keep' } });
    const chat = await chatWithBot(setup);
    const [kept] = (await setup.host.stop()).kept;
    expect(kept).toBeDefined();
    const next = nextHost(setup, [prepareBot(echo)], {
      host: { onShutdown: 'handoff', drainTimeoutMs: 100 },
    });
    setup.emulator.faults.subscribeAcks(kept!.snapshot.participantId, { drop: 100 });
    const resuming = next.host.resume(kept!).catch((error: Error) => error);
    await waitUntil(() => next.client.sessions.size === 1, 'the resume to reach start()', 5000);
    const result = await next.host.stop();
    expect(result.kept).toEqual([]);
    expect(await resuming).toBeInstanceOf(Error);
    setup.emulator.faults.clear();
    const bot = () =>
      setup.emulator.contact(chat.contactId).participants.find((p) => p.role === 'CUSTOM_BOT');
    await waitUntil(() => bot()?.state !== 'connected', 'the bot participant to leave', 3000);
  });
});
