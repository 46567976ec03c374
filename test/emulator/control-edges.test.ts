import { CreateParticipantCommand } from '@aws-sdk/client-connect';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { chatKit } from '../support/chat.js';
import { nextEvent } from '../support/wait.js';

// Control endpoints (README "The emulator": Control API, HTTP under /_emulator/, and fault injection).

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function control(path: string, body: unknown = {}) {
  const response = await fetch(`${emulator!.endpoint}/_emulator/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe('POST /_emulator/contacts/:id/messages', () => {
  it('refuses `as` naming a participant of another contact instead of posting into that other chat', async () => {
    emulator = await startEmulator();
    const a = emulator.startChat({ displayName: 'Alice' });
    const b = emulator.startChat({ displayName: 'Bob' });

    // Ask for a message on chat A, "as" chat B's customer.
    const response = await control(`contacts/${a.contactId}/messages`, {
      content: 'meant for chat A',
      as: b.participantId,
    });

    // Expected: a 4xx (that participant is not on contact A), nothing written anywhere.
    // Before the fix: 200 `{}` (say() returns undefined: the item is looked up in A's transcript, where it is not),
    // and the message was appended to chat B's transcript and pushed to B's participants: one chat's
    // control call leaks a message into an unrelated live chat. README: `say` posts "as the customer
    // (default), the agent, or a participant id" *on the given contact*. Fault: Emulator.say resolves a
    // participant id across all contacts (Emulator.participant) and never checks sender.contactId.
    const leaked = emulator.transcript(b.contactId).filter((item) => item.Content === 'meant for chat A');
    expect({ status: response.status, leakedIntoB: leaked.length }).toEqual({
      status: 404,
      leakedIntoB: 0,
    });
  });
});

describe('POST /_emulator/chats', () => {
  it('refuses attributes that StartChatContact refuses (README: "starts a chat as StartChatContact would")', async () => {
    emulator = await startEmulator();
    // protocol.md §1.4: attribute keys are alphanumeric, `-`, `_`; at most 32,768 UTF-8 bytes in total.
    // The SDK route (Fields.attributes) enforces both; the control route only checks "string → string".
    const badKey = await control('chats', { attributes: { 'has space': 'x' } });
    const tooBig = await control('chats', { attributes: { big: 'x'.repeat(40_000) } });
    // Expected: 400 for both. Before the fix: 200 for both; the second chat then has > 32 KB of attributes, so every
    // later UpdateContactAttributes on it fails, and the flow-Lambda event carries attributes Connect
    // could never have produced.
    expect([badKey.status, tooBig.status]).toEqual([400, 400]);
  });
});

describe('POST /_emulator/faults/timings', () => {
  it('a timing beyond the timer range is refused, not turned into an instant expiry', async () => {
    // Node arms at most 2^31-1 ms; a longer timer fires after 1 ms. Before the fix, waitTimeoutMs 2^31 was
    // accepted and the "very long" Wait timed out at once, removing the bot.
    emulator = await startEmulator();
    const set = await control('faults/timings', { waitTimeoutMs: 2 ** 31 });
    expect(set.status).toBe(400);
    expect(emulator.timings.waitTimeoutMs).toBe(900_000);
    expect(() => emulator!.faults.setTimings({ waitTimeoutMs: 2 ** 31 })).toThrow(/timings.waitTimeoutMs/);
    await expect(startEmulator({ timings: { botConnectWindowMs: 2 ** 31 } })).rejects.toThrow(
      /timings.botConnectWindowMs/,
    );
  });

  it('a connectionTokenTtlMs the schema accepts must not turn CreateParticipant into a 500', async () => {
    emulator = await startEmulator();
    const chat = chatKit(emulator);
    const customer = await chat.customer();
    const set = await control('faults/timings', { connectionTokenTtlMs: Number.MAX_SAFE_INTEGER });
    // Expected: 400 InvalidInput for a lifetime no Date can represent, or CreateParticipant still working.
    // Before the fix: 200, then every CreateParticipant fails with 500 InternalServiceException
    // (`new Date(now + ttl).toISOString()` throws RangeError in api.ts CreateParticipant), and so does every
    // CreateParticipantConnection asking for CONNECTION_CREDENTIALS (state.createConnection → isoTime).
    let status = 200;
    try {
      await chat.sdk.connect.send(
        new CreateParticipantCommand({
          InstanceId: emulator.instanceId,
          ContactId: customer.contactId,
          ParticipantDetails: { ParticipantRole: 'CUSTOM_BOT', DisplayName: 'Bot' },
        }),
      );
    } catch (error) {
      status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? -1;
    }
    expect({ timingsStatus: set.status, createParticipantStatus: status }).toSatisfy(
      (r: { timingsStatus: number; createParticipantStatus: number }) =>
        r.timingsStatus === 400 || r.createParticipantStatus === 200,
    );
  });
});

describe('emulator.startChat (typed control API)', () => {
  it('refuses a durationMinutes StartChatContact refuses, instead of ending the chat at once', async () => {
    emulator = await startEmulator();
    // README: startChat "starts a chat as StartChatContact would (`durationMinutes` 60–10080, default 25 h)".
    // Only the HTTP route checks the range (zod); the typed call passes it straight to state.startChat, which
    // schedules `durationMinutes * 60_000` ms. 40,000 minutes is 2.4e9 ms, beyond setTimeout's range, so Node
    // fires the timer after 1 ms and the brand-new chat ends with chat-duration-elapsed.
    let thrown: unknown;
    let contactId: string | undefined;
    try {
      contactId = emulator.startChat({ durationMinutes: 40_000 }).contactId;
    } catch (error) {
      thrown = error;
    }
    if (contactId && emulator.contact(contactId).state === 'active') {
      // Give the overflowed timer its chance to fire (awaited on the state event, bounded).
      await nextEvent(emulator.state, 'contactEnded', (c) => c.contactId === contactId, 300).catch(() => {});
    }
    // Expected: an InvalidParameterException-style error (as StartChatContact answers for > 10080).
    // Before the fix: no error, and the chat is already over (state 'ended') a few ms later.
    expect({
      refused: thrown !== undefined,
      state: contactId ? emulator.contact(contactId).state : 'none',
    }).toEqual({ refused: true, state: 'none' });
  });
});

async function postChat(body: unknown) {
  const response = await fetch(`${emulator!.endpoint}/_emulator/chats`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, body: (await response.json()) as { error?: string; message?: string } };
}

describe('POST /_emulator/chats refuses as StartChatContact would', () => {
  it('a durationMinutes below 60 is a 400 InvalidParameterException, like a bad attribute key', async () => {
    emulator = await startEmulator();
    // Control: a bad attribute key, checked by startChat itself, is answered InvalidParameterException.
    const badKey = await postChat({ attributes: { 'no spaces': 'x' } });
    expect(badKey.status).toBe(400);
    expect(badKey.body.error).toBe('InvalidParameterException');

    // The same kind of refusal for the duration rule the README names first.
    // Expected: 400 { error: 'InvalidParameterException' } (as emulator.startChat({ durationMinutes: 30 }) throws).
    // Before the fix: 400 { error: 'InvalidInput' }: the control route's zod schema (src/emulator/control.ts,
    // schemas.chat: durationMinutes/displayName/initialMessage bounds) refuses it first, with the emulator's own
    // control-API error, so a script checking for StartChatContact's error sees a different one per rule.
    for (const bad of [{ durationMinutes: 30 }, { displayName: '' }, { initialMessage: '' }]) {
      const refused = await postChat(bad);
      expect({ bad, status: refused.status, error: refused.body.error }).toEqual({
        bad,
        status: 400,
        error: 'InvalidParameterException',
      });
    }
  });
});
