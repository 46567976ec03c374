import { describe, expect, it } from 'vitest';
import { joinedChat, setup } from '../support/harness.js';
import { waitUntil } from '../support/wait.js';

describe('connect: ClientToken reuse and validation', () => {
  it('the leave after a failed join retries its DisconnectParticipant with the same ClientToken', async () => {
    // README (ChatClient `retry`): "Retries of throttled (429), 5xx and network-failed calls: ... the same ClientToken
    // on every retry". Expected: when a join fails after CreateParticipantConnection (here: no subscribe ack) the bot
    // leaves, and a 5xx on that DisconnectParticipant is retried with the token of the first attempt, as
    // session.disconnect() does (test/session/rules.test.ts "retries a failed leave with the same ClientToken").
    // Before the fix: ChatClient.open() (src/session/client.ts) builds `new DisconnectParticipantCommand({ ConnectionToken })`
    // inside the ApiCaller closure without a ClientToken, so the SDK's idempotencyToken trait fills a fresh UUID on
    // every attempt: each retry is a different request to the service, not a repeat of the one whose answer was lost.
    const { emulator, client } = await setup({
      client: { timings: { subscribeAckTimeoutMs: 50, subscribeResends: 1 } },
    });
    const chat = emulator.startChat();
    emulator.faults.subscribeAcks(undefined, { drop: 1000 });
    emulator.faults.failNext('DisconnectParticipant', { status: 500, count: 2 });
    await expect(
      client.join({ instanceId: emulator.instanceId, contactId: chat.contactId, displayName: 'Bot' }),
    ).rejects.toMatchObject({ code: 'CB_SUBSCRIBE_FAILED' });
    await waitUntil(
      () => emulator.calls.count('DisconnectParticipant', { status: 200 }) === 1,
      'the bot to leave after two 500s',
    );
    const leaves = emulator.calls.log.filter((call) => call.operation === 'DisconnectParticipant');
    expect(leaves.map((call) => call.status)).toEqual([500, 500, 200]);
    expect(new Set(leaves.map((call) => call.clientToken)).size).toBe(1);
  });

  it('sendMessage / sendEvent with a ClientToken over 500 characters is CB_INVALID_ARGUMENT before any call', async () => {
    // protocol.md §2.5/§2.6: ClientToken is 0-500 characters; README (Actions): "A bad argument to `sendMessage`,
    // `sendEvent`, `setAttributes` or `client.join` is `CB_INVALID_ARGUMENT` before any call is made". client.join
    // checks its clientToken (<= 500), but ChatSession.sendMessage/sendEvent (src/session/session.ts) pass theirs
    // through unchecked. Expected: CB_INVALID_ARGUMENT and no call. Before the fix: the call goes out (using a
    // SendMessageOrEvent quota token) and fails with CB_API_REFUSED 400 ValidationException.
    const { emulator, client } = await setup();
    const { session } = await joinedChat(emulator, client);
    const sent = () => emulator.calls.count('SendMessage') + emulator.calls.count('SendEvent');
    const before = sent();
    const token = 'x'.repeat(501);
    const codes = {
      message: await session.sendMessage('hi', { clientToken: token }).then(
        () => 'ok',
        (error: { code?: string }) => error.code,
      ),
      event: await session.sendEvent('typing', { clientToken: token }).then(
        () => 'ok',
        (error: { code?: string }) => error.code,
      ),
    };
    expect(codes).toEqual({ message: 'CB_INVALID_ARGUMENT', event: 'CB_INVALID_ARGUMENT' });
    expect(sent()).toBe(before);
  });
});
