import { describe, expect, it } from 'vitest';
import { defineBot, type KeptChat, prepareBot } from '../../src/index.js';
import {
  botMessages,
  chatWithBot,
  hostSetup,
  nextHost,
  waitForBotMessages,
} from '../support/host-harness.js';

const greeter = prepareBot(
  defineBot({
    name: 'greeter',
    displayName: 'Greeter',
    setup(b) {
      b.onJoin((ctx) => ctx.reply('hello'));
      b.on('message', (ctx) => ctx.reply(`echo: ${ctx.text}`));
    },
  }),
);

/**
 * A join and a resume of one contact do not share an outcome: a resume that finds a join under way waits for it,
 * then tries on its own. (The join fails here: the service allows one custom participant, and the kept one is
 * still in the chat.)
 */
describe('a resume racing a join for the same contact', () => {
  it('does not fail with the error of a join under way for the same contact', async () => {
    const setup = await hostSetup({ bots: [greeter], host: { onShutdown: 'keep' } });
    const chat = await chatWithBot(setup);
    await waitForBotMessages(setup.emulator, chat.contactId, 1);
    const [kept] = (await setup.host.stop()).kept as [KeptChat];

    const next = nextHost(setup, [greeter]).host;
    // A join for the contact (e.g. the flow's Lambda retried) is under way when the resume comes.
    const joining = next.join({ instanceId: kept.snapshot.instanceId, contactId: chat.contactId }).then(
      (result) => result,
      (error: Error) => error,
    );
    const resumed = await next.resume(kept).then(
      (result) => result,
      (error: Error) => error,
    );
    // The service refuses a second custom participant: the join fails (409)…
    expect(await joining).toMatchObject({ code: 'CB_API_REFUSED' });
    // …and the resume, once it has settled, takes the kept participant over.
    expect(resumed).not.toBeInstanceOf(Error);
    expect(resumed).toMatchObject({ participantId: kept.snapshot.participantId });
    expect(next.chats.has(chat.contactId)).toBe(true);
    expect(botMessages(setup.emulator, chat.contactId)).toEqual(['hello']);
  });
});
