import { describe, expect, it } from 'vitest';
import {
  ChatClient,
  DEFAULT_SESSION_TIMINGS,
  type MessageContentType,
  type SessionTimings,
  TokenBucketLimiter,
} from '../../src/index.js';
import type { EventKind } from '../../src/session/session.js';
import { joinedChat, setup } from '../support/harness.js';
import { nextEvent, waitUntil } from '../support/wait.js';

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
    const join = { instanceId: emulator.instanceId, contactId: chat.contactId, displayName: 'Bot' };
    for (const bad of [
      { displayName: '' },
      { instanceId: '' },
      { contactId: '' },
      { contactId: 7 as unknown as string },
      { initialContactId: '' },
      { clientToken: 'x'.repeat(501) },
    ]) {
      await expect(client.join({ ...join, ...bad }), JSON.stringify(bad)).rejects.toMatchObject(invalid);
    }
    expect(emulator.calls.count('CreateParticipant')).toBe(creates);
    const { session: held } = await joinedChat(emulator, client);
    const snapshot = held.snapshot();
    const connections = emulator.calls.count('CreateParticipantConnection');
    for (const bad of [{ participantToken: '' }, { instanceId: undefined as unknown as string }]) {
      await expect(client.resume({ ...snapshot, ...bad }), JSON.stringify(bad)).rejects.toMatchObject(
        invalid,
      );
    }
    await expect(client.resume(null as unknown as typeof snapshot)).rejects.toMatchObject(invalid);
    expect(emulator.calls.count('CreateParticipantConnection')).toBe(connections);
  });

  it('checks timings given in code as the configuration does; an undefined one is the default', () => {
    const client = (timings: Record<string, unknown>) =>
      new ChatClient({ region: 'us-east-1', timings: timings as Partial<SessionTimings> });
    for (const bad of [
      { openTimeoutMs: Number.NaN },
      { heartbeatIntervalMs: 0 },
      { rotationMarginMs: 2 ** 31 },
      { subscribeResends: -1 },
      { heartbeatMs: 1000 },
    ]) {
      expect(() => client(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'CB_INVALID_ARGUMENT', message: expect.stringContaining('timings') }),
      );
    }
    expect(client({ openTimeoutMs: undefined, subscribeResends: 0 }).timings).toMatchObject({
      openTimeoutMs: DEFAULT_SESSION_TIMINGS.openTimeoutMs,
      subscribeResends: 0,
    });
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

describe("the session's own call in flight when it ends", () => {
  it('is reported as apiCall outcome aborted, not a network failure', async () => {
    const { emulator, client, proxy } = await setup({
      proxy: true,
      emulator: { timings: { connectionTokenTtlMs: 1500 } },
      client: { timings: { tokenRefreshMarginMs: 700, tokenRefreshFloorMs: 100 } },
    });
    const { session } = await joinedChat(emulator, client);
    proxy!.hold('/participant/connection'); // the token refresh, held in flight
    await waitUntil(() => proxy!.held === 1, 'the refresh in flight');
    const reported = nextEvent(client, 'apiCall', (call) => call.operation === 'CreateParticipantConnection');
    session.close();
    expect((await reported)[0]).toMatchObject({ outcome: 'aborted' });
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

describe('closeAll() while a join or resume has no session yet', () => {
  it('a join past CreateParticipant: rejected with CB_SESSION_ENDED and its bot leaves; nothing stays open', async () => {
    const { emulator, client } = await setup();
    const chat = emulator.startChat();
    client.on('apiCall', (call) => {
      if (call.operation === 'CreateParticipant' && call.outcome === 'ok') client.closeAll(); // a shutdown
    });
    await expect(
      client.join({ instanceId: emulator.instanceId, contactId: chat.contactId, displayName: 'Bot' }),
    ).rejects.toMatchObject({ code: 'CB_SESSION_ENDED' });
    const bot = emulator.contact(chat.contactId).participants.find((p) => p.role === 'CUSTOM_BOT');
    expect(bot?.state).toBe('left');
    expect(client.sessions.size).toBe(0);
  });

  it('a join or resume still waiting for a quota token gives up at once: nothing was created', async () => {
    const limiter = new TokenBucketLimiter({
      rates: {
        CreateParticipant: { rate: 0.1, burst: 1 },
        CreateParticipantConnection: { rate: 0.1, burst: 2 },
      },
    });
    const { emulator, client } = await setup({ client: { rateLimiter: limiter } });
    const { session } = await joinedChat(emulator, client); // takes the CreateParticipant token
    const snapshot = session.snapshot();
    await session.sendMessage('uses its ConnectionToken'); // the second connection token is spent below
    await client.resume(snapshot).then((resumed) => resumed.close()); // takes the other connection token
    const chat = emulator.startChat();
    const joining = client.join({
      instanceId: emulator.instanceId,
      contactId: chat.contactId,
      displayName: 'B',
    });
    const resuming = client.resume(snapshot);
    const creates = emulator.calls.count('CreateParticipant');
    client.closeAll();
    await expect(joining).rejects.toMatchObject({ code: 'CB_SESSION_ENDED' });
    await expect(resuming).rejects.toMatchObject({ code: 'CB_SESSION_ENDED' });
    expect(emulator.calls.count('CreateParticipant')).toBe(creates);
    expect(emulator.contact(chat.contactId).participants.some((p) => p.role === 'CUSTOM_BOT')).toBe(false);
    limiter.close();
  });
});
