import { describe, expect, it } from 'vitest';
import { runningHost, SECRET } from '../support/running-host.js';

/** `bots.default: null` means no default bot, even with one bot enabled: a join must name its bot. */
describe('bots.default: null with one bot enabled', () => {
  it('a join that names no bot is refused (CB_UNKNOWN_BOT), not given the only bot', async () => {
    const { emulator, running } = await runningHost({
      config: { bots: { enabled: ['echo'], default: null } },
    });
    emulator.setFlow(undefined); // the join is posted here, not by the simulated flow
    const chat = emulator.startChat();
    const response = await fetch(running.joinUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instanceId: emulator.instanceId, contactId: chat.contactId }),
      signal: AbortSignal.timeout(10_000),
    });
    expect({ status: response.status, body: await response.json() }).toMatchObject({
      status: 400,
      body: { code: 'CB_UNKNOWN_BOT' },
    });
  });
});
