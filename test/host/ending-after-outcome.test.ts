import { expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { deferred } from '../support/deferred.js';
import { chatWithBot, hostSetup } from '../support/host-harness.js';
import { waitUntil } from '../support/wait.js';

/** The emulator has no public way to add a third participant; these reach into its state (test-only). */
interface StateInternals {
  contact(id: string): unknown;
  addParticipant(contact: unknown, role: string, name: string, state: string): { participantId: string };
  removeParticipant(contact: unknown, participant: unknown, reason: string, announce: boolean): void;
}

it("after the bot ended the chat, another participant's participant.left still queued is skipped, not given to the bot", async () => {
  const gate = deferred<void>();
  const entered = deferred<void>();
  const ended = deferred<void>();
  const seen: string[] = [];
  const bot = defineBot({
    name: 'closer',
    displayName: 'Closer',
    setup(bot) {
      bot.use(async (ctx, next) => {
        seen.push(`${ctx.kind}${ctx.from ? `:${ctx.from.role}` : ''}`);
        await next();
      });
      bot.hears('bye', async (ctx) => {
        entered.resolve();
        await gate.wait(5000, 'gate');
        await ctx.end();
      });
      bot.onEnd(() => ended.resolve());
    },
  });
  const setup = await hostSetup({ bots: [bot] });
  const chat = await chatWithBot(setup, { bot: 'closer' });
  const received: string[] = [];
  setup.host.on('received', (_c, item) => received.push(`${item.ContentType}:${item.ParticipantRole}`));
  try {
    setup.emulator.say(chat.contactId, 'bye');
    await entered.wait(3000, 'handler');
    const state = setup.emulator.state as unknown as StateInternals;
    const contact = state.contact(chat.contactId);
    const supervisor = state.addParticipant(contact, 'SUPERVISOR', 'Sup', 'connected');
    state.removeParticipant(contact, supervisor, 'disconnected', true);
    await waitUntil(
      () => received.some((r) => r.endsWith('participant.left:SUPERVISOR')),
      "the supervisor's participant.left to arrive",
      3000,
    );
    gate.resolve();
    await ended.wait(3000, 'onEnd');
    // only the chat's own ending reaches the bot (README "After the end"); the supervisor's leave is skipped
    expect(seen).toEqual(['message:CUSTOMER', 'chat.ended']);
  } finally {
    gate.resolve();
    await setup.host.stop();
  }
});
