import { describe, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { hostSetup, SECRET } from '../support/host-harness.js';
import { waitUntil } from '../support/wait.js';

const echo = defineBot({
  name: 'echo',
  displayName: 'Echo',
  setup: (bot) => void bot.on('message', (ctx) => ctx.reply(ctx.text)),
});

describe('a join cut short by the host shutting down', () => {
  it('is not answered 409 CB_CHAT_ENDED while the chat goes on', async () => {
    const setup = await hostSetup({ bots: [echo], host: { drainTimeoutMs: 100, onShutdown: 'keep' } });
    setup.emulator.setFlow(undefined);
    const chat = setup.emulator.startChat();
    // The bot's subscribe frames go unanswered: the join stays in start() for a while.
    setup.emulator.faults.subscribeAcks(undefined, { drop: 100 });
    const answer = fetch(setup.joinUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
      body: JSON.stringify({ instanceId: setup.emulator.instanceId, contactId: chat.contactId }),
    }).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as { code: string },
    }));
    await waitUntil(() => setup.client.sessions.size === 1, 'the join to reach start()', 5000);
    await setup.host.stop();
    const { status, body } = await answer;
    expect(setup.emulator.contact(chat.contactId).state).not.toBe('ended'); // the chat did not end
    // The flow is told the chat ended (409, no retry), though only the host went away.
    expect({ status, code: body.code }).not.toEqual({ status: 409, code: 'CB_CHAT_ENDED' });
  });
});
