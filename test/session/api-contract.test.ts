import { describe, expect, it } from 'vitest';
import { type MessageContentType, TokenBucketLimiter } from '../../src/index.js';
import type { EventKind } from '../../src/session/session.js';
import { joinedChat, setup } from '../support/harness.js';
import { waitUntil } from '../support/wait.js';

describe('the session API keeps what the README says', () => {
  it('refuses a bad argument with CB_INVALID_ARGUMENT before any call, whatever its type', async () => {
    const { emulator, client } = await setup();
    const { session } = await joinedChat(emulator, client);
    const calls = () => emulator.calls.count('SendMessage') + emulator.calls.count('SendEvent');
    const before = calls();
    const invalid = { code: 'CB_INVALID_ARGUMENT' };
    await expect(
      session.sendMessage('hi', { contentType: 'toString' as MessageContentType }),
    ).rejects.toMatchObject(invalid);
    await expect(session.sendMessage(42 as unknown as string)).rejects.toMatchObject(invalid);
    await expect(session.sendMessage(undefined as unknown as string)).rejects.toMatchObject(invalid);
    await expect(session.sendEvent('constructor' as EventKind, { messageId: 'm' })).rejects.toMatchObject(
      invalid,
    );
    expect(calls()).toBe(before);
    const chat = emulator.startChat();
    const creates = emulator.calls.count('CreateParticipant');
    await expect(
      client.join({ instanceId: emulator.instanceId, contactId: chat.contactId, displayName: '' }),
    ).rejects.toMatchObject(invalid);
    expect(emulator.calls.count('CreateParticipant')).toBe(creates);
  });

  it('a client listener that throws changes nothing: the call it saw still succeeds', async () => {
    const { emulator, client } = await setup();
    const { session } = await joinedChat(emulator, client);
    client.on('apiCall', () => {
      throw new Error('a metrics bug');
    });
    await expect(session.sendMessage('still sent')).resolves.toMatchObject({ id: expect.any(String) });
  });

  it('disconnect() after close() is CB_SESSION_ENDED: closing let go of the socket, not of the chat', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    session.close();
    await expect(session.disconnect()).rejects.toMatchObject({ code: 'CB_SESSION_ENDED' });
    const bot = emulator.contact(chat.contactId).participants.find((p) => p.role === 'CUSTOM_BOT');
    expect(bot?.state).toBe('connected');
  });

  it('a bot leaving because its join failed goes through the caller: apiCall sees its DisconnectParticipant', async () => {
    const { emulator, client } = await setup({
      client: { timings: { subscribeAckTimeoutMs: 50, subscribeResends: 1 } },
    });
    const seen: string[] = [];
    client.on('apiCall', (call) => seen.push(call.operation));
    const chat = emulator.startChat();
    emulator.faults.subscribeAcks(undefined, { drop: 1000 });
    await expect(
      client.join({ instanceId: emulator.instanceId, contactId: chat.contactId, displayName: 'Bot' }),
    ).rejects.toMatchObject({ code: 'CB_SUBSCRIBE_FAILED' });
    await waitUntil(() => emulator.calls.count('DisconnectParticipant') === 1, 'the bot to leave');
    expect(seen).toContain('DisconnectParticipant');
  });

  it('a join whose quota wait is given up after CreateParticipant was sent goes on with its retries', async () => {
    const { emulator, client } = await setup();
    const chat = emulator.startChat();
    // The first CreateParticipant takes effect but its answer is lost (500): the retry must still go out.
    emulator.faults.failNext('CreateParticipant', { status: 500, afterCommit: true });
    const controller = new AbortController();
    client.once('apiCall', () => controller.abort(new Error('given up')));
    const session = await client.join({
      instanceId: emulator.instanceId,
      contactId: chat.contactId,
      displayName: 'Bot',
      signal: controller.signal,
    });
    expect(emulator.calls.count('CreateParticipant')).toBe(2);
    const bots = emulator.contact(chat.contactId).participants.filter((p) => p.role === 'CUSTOM_BOT');
    expect(bots.map((bot) => bot.participantId)).toEqual([session.participantId]);
  });
});

describe('close() while a disconnect() waits for a quota token', () => {
  it('cancels the leave: the bot stays in the chat, and disconnect() is CB_SESSION_ENDED', async () => {
    const limiter = new TokenBucketLimiter({ rates: { DisconnectParticipant: { rate: 0.1, burst: 1 } } });
    const { emulator, client } = await setup({ client: { rateLimiter: limiter } });
    const first = await joinedChat(emulator, client);
    const second = await joinedChat(emulator, client);
    await first.session.disconnect(); // takes the one token
    const leaving = second.session.disconnect(); // waits 10 s for the next
    second.session.close();
    await expect(leaving).rejects.toMatchObject({ code: 'CB_SESSION_ENDED' });
    expect(emulator.calls.count('DisconnectParticipant')).toBe(1);
    const bot = emulator.contact(second.chat.contactId).participants.find((p) => p.role === 'CUSTOM_BOT');
    expect(bot?.state).toBe('connected');
    limiter.close();
  });
});
