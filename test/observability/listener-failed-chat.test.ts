// README "Observability": "Per-chat lines are bound to `contactId`, `participantId` and `bot`"; README BotHost
// events: "a listener that throws ... is logged as `listener-failed`". The host's other per-chat lines carry the
// chat (join-failed: contactId; join: contactId, participantId, bot).
//
// Expected: a `listener-failed` line for a listener of a per-chat BotHost event (`received`, `handled`,
// `replied`, `handlerError`, `joined`, `chatEnded`: the chat is their first argument) names that chat, so an
// operator can find which chat's event broke.
// Before the fix: src/host/host.ts guarded() logs `{ event: 'listener-failed', listener, err }` on the host logger, with
// no contactId / participantId / bot, for every event alike.
import { describe, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { chatWithBot, hostSetup, waitForBotMessages } from '../support/host-harness.js';
import { LogCapture } from '../support/running-host.js';
import { waitUntil } from '../support/wait.js';

const echo = defineBot({
  name: 'echo-lf',
  displayName: 'Echo',
  setup(b) {
    b.on('message', (ctx) => ctx.reply(`echo ${ctx.text}`));
  },
});

describe('listener-failed for a per-chat BotHost event', () => {
  it("names the chat whose 'received' event the listener failed on", async () => {
    const logs = new LogCapture();
    const setup = await hostSetup({
      bots: [echo],
      host: { logger: createLogger({ level: 'debug', destination: logs, pretty: false }) },
    });
    setup.host.on('received', () => {
      throw new Error('listener boom');
    });
    const chat = await chatWithBot(setup);
    setup.emulator.say(chat.contactId, 'one');
    await waitForBotMessages(setup.emulator, chat.contactId, 1, 5000);
    const line = await waitUntil(
      () => logs.events().find((l) => l.event === 'listener-failed'),
      'the listener-failed line',
      5000,
    );
    expect(line).toMatchObject({ listener: 'received', err: { message: 'listener boom' } });
    // before the fix: no contactId, participantId or bot on the line
    expect(line).toMatchObject({
      contactId: chat.contactId,
      participantId: setup.host.chats.get(chat.contactId)!.session.participantId,
      bot: 'echo-lf',
    });
  }, 20_000);

  it("names the contact of the request whose 'joinFailed' event the listener failed on", async () => {
    const logs = new LogCapture();
    const setup = await hostSetup({
      bots: [echo],
      host: { logger: createLogger({ level: 'debug', destination: logs, pretty: false }) },
    });
    setup.host.on('joinFailed', () => {
      throw new Error('listener boom');
    });
    const chat = setup.emulator.startChat();
    const request = { instanceId: setup.emulator.instanceId, contactId: chat.contactId, bot: 'nobody' };
    await expect(setup.host.join(request)).rejects.toMatchObject({ code: 'CB_UNKNOWN_BOT' });
    const line = logs.events().find((l) => l.event === 'listener-failed');
    expect(line).toMatchObject({ listener: 'joinFailed', contactId: chat.contactId, bot: 'nobody' });
  }, 20_000);
});
