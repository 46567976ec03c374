import { describe, expect, it } from 'vitest';
import { joinedChat, setup } from '../support/harness.js';

/**
 * Regression (fixed): every call that meets an expired ConnectionToken (403) runs its own CreateParticipantConnection
 * (ChatSession.withToken → newToken('refused')), with no sharing between calls in flight at the same time. A bot
 * that sends a few messages/receipts at once when its token has expired makes one CreateParticipantConnection per
 * call. That API has a small per-instance quota shared with every join (DEFAULT_QUOTAS: rate 6, burst 9; a join
 * must complete its CreateParticipantConnection within 15 s), and protocol.md §6 pitfall 3 names exactly this:
 * "chatjs also calls /participant/connection more than once (#31, #88), which can trigger throttling". The README
 * promises "treats a 403 as 'token expired' once (one fresh CreateParticipantConnection decides)".
 *
 * Expected: the calls refused together share one fresh CreateParticipantConnection (one refresh, one
 * `tokenRefreshed`). Before the fix: one per call (8 here), and `stats.tokenRefreshes` / `tokenRefreshed` count 8.
 */
describe('a ConnectionToken that expired under several calls at once', () => {
  it('is refreshed once for all of them, not once per call', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const cpc = () =>
      emulator.calls.count('CreateParticipantConnection', { participantId: session.participantId });
    const before = cpc();
    let announced = 0;
    session.on('tokenRefreshed', () => announced++);

    emulator.faults.expireConnectionTokens(bot);
    const sends = Array.from({ length: 8 }, (_, i) => session.sendMessage(`reply ${i + 1}`));
    const results = await Promise.all(sends);
    expect(results.every((r) => r.id.length > 0)).toBe(true);

    expect({ connections: cpc() - before, refreshes: session.stats.tokenRefreshes, announced }).toEqual({
      connections: 1,
      refreshes: 1,
      announced: 1,
    });
  });
});
