import { describe, expect, it } from 'vitest';
import { ErrorCode, Scheduler } from '../../src/index.js';
import { callGate, joinedChat, onThrottled, record, setup } from '../support/harness.js';
import { nextEvent, waitUntil } from '../support/wait.js';

/**
 * Failures that land in the middle of a back-fill: each one is placed there by a throttled GetTranscript (the
 * emulator's 429), whose retry delay is the window in which the test drops the sockets.
 */

describe('ChatSession races with the back-fill', () => {
  it('a drop during the join back-fill: join resolves open with a live socket, and stays open', async () => {
    const { emulator, client } = await setup();
    const chat = emulator.startChat();
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    emulator.faults.failNext('GetTranscript', { status: 429 });
    onThrottled(client, 'GetTranscript', () => emulator.faults.dropSockets(bot, 'abrupt'));
    const session = await client.join({
      instanceId: emulator.instanceId,
      contactId: chat.contactId,
      displayName: 'Bot',
    });
    const recorder = record(session);
    expect(session.state).toBe('open');
    expect(session.openSockets).toBe(1);
    expect(emulator.gateway.opened.get(session.participantId)).toBe(2);

    emulator.say(chat.contactId, 'after the join');
    await recorder.waitForMessages(1);
    expect(recorder.customerMessages()).toEqual(['after the join']);
    expect(session.state).toBe('open');
    expect(session.stats.reconnects).toBe(0); // the join's own retry replaced the socket
    expect(emulator.sockets(bot)).toHaveLength(1);
  });

  it('a drop during a reconnect back-fill: the next attempt opens another socket before the session is open', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    emulator.faults.failNext('GetTranscript', { status: 429 });
    onThrottled(client, 'GetTranscript', () => {
      emulator.say(chat.contactId, 'during the second drop');
      emulator.faults.dropSockets(bot, 'abrupt');
    });
    const opened = nextEvent(session, 'state', (state) => state === 'open');
    emulator.faults.dropSockets(bot, 'abrupt');
    emulator.say(chat.contactId, 'during the first drop');
    await opened;
    // Open means a socket that works: not the one that closed during the back-fill.
    expect(session.openSockets).toBe(1);
    expect(emulator.sockets(bot)).toHaveLength(1);
    emulator.say(chat.contactId, 'live again');
    await recorder.receivedExactlyOnce(['during the first drop', 'during the second drop', 'live again']);
    expect(session.stats.reconnects).toBe(1);
  });

  it('a drop during a rotation back-fill: one recovery, no stale rotation, nothing lost or repeated', async () => {
    const { emulator, client } = await setup({
      emulator: { timings: { connectionExpiryMs: 1500 } },
      client: { timings: { rotationMarginMs: 700 }, retry: { minDelayMs: 400, maxDelayMs: 400 } },
    });
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const states: string[] = [];
    session.on('state', (state) => states.push(state));
    const rotatedIn: string[] = [];
    session.on('rotated', () => rotatedIn.push(session.state));
    const errors: string[] = [];
    session.on('error', (error) => errors.push(error.code));

    await nextEvent(session, 'state', (state) => state === 'rotating', 5000);
    // The rotation's back-fill and then the recovery's are throttled once each (400 ms), so the rotation's
    // comes back while the recovery's is still waiting.
    emulator.faults.failNext('GetTranscript', { count: 2, status: 429, participant: bot });
    onThrottled(client, 'GetTranscript', () => {
      emulator.say(chat.contactId, 'while both sockets drop');
      emulator.faults.dropSockets(bot, 'abrupt');
    });
    await nextEvent(session, 'reconnecting', () => true, 5000);
    // The recovery's own back-fill is the one throttled next: a live item on its new socket meanwhile.
    onThrottled(client, 'GetTranscript', () => emulator.say(chat.contactId, 'during the recovery back-fill'));
    await nextEvent(session, 'state', (state) => state === 'open', 5000);
    expect(session.openSockets).toBe(1);
    emulator.say(chat.contactId, 'after the recovery');
    await recorder.receivedExactlyOnce([
      'while both sockets drop',
      'during the recovery back-fill',
      'after the recovery',
    ]);
    expect(rotatedIn.every((state) => state === 'rotating')).toBe(true);
    expect(states.slice(0, 3)).toEqual(['rotating', 'reconnecting', 'open']);
    expect(errors).toEqual([]);
    expect(session.stats.reconnects).toBe(1);
  });

  it('a rotation overtaken by a recovery stays stale while a later rotation runs: that one alone switches', async () => {
    const gate = callGate();
    const { emulator, client } = await setup({
      // Rotations fall due about 500 ms after each new connection.
      emulator: { timings: { connectionExpiryMs: 1500 } },
      client: { rateLimiter: gate.limiter, timings: { rotationMarginMs: 1000 } },
    });
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const errors: string[] = [];
    session.on('error', (error) => errors.push(error.code));
    let rotated = 0;
    session.on('rotated', () => rotated++);

    // The first rotation is held in its back-fill; the old socket drops, and the recovery (not held) opens.
    gate.holdNext('GetTranscript');
    await nextEvent(session, 'state', (state) => state === 'rotating', 5000);
    await waitUntil(() => gate.held('GetTranscript') === 1, "the first rotation's back-fill held");
    emulator.faults.dropSockets(bot, 'abrupt');
    await nextEvent(session, 'state', (state) => state === 'open', 5000);
    // The next rotation is held in its back-fill too.
    gate.holdNext('GetTranscript');
    await nextEvent(session, 'state', (state) => state === 'rotating', 5000);
    await waitUntil(() => gate.held('GetTranscript') === 2, "the second rotation's back-fill held");
    emulator.say(chat.contactId, 'during the second rotation');

    // The first rotation goes on while the state is 'rotating' again, but it is not the current rotation.
    const firstPage = nextEvent(client, 'apiCall', (call) => call.operation === 'GetTranscript', 5000);
    gate.release('GetTranscript');
    await firstPage;
    await new Promise((resolve) => setImmediate(resolve));
    expect(rotated).toBe(0);
    expect(session.state).toBe('rotating');
    expect(errors).toEqual([]);

    const switched = nextEvent(session, 'rotated', () => true, 5000);
    gate.release('GetTranscript');
    await switched;
    await recorder.receivedExactlyOnce(['during the second rotation']);
    expect(rotated).toBe(1);
    expect(errors).toEqual([]);
    expect(session.stats).toMatchObject({ rotations: 1, reconnects: 1 });
    expect(session.openSockets).toBe(1);
  });

  it('a rotation whose back-fill fails reconnects, and the live items that back-fill held are not lost', async () => {
    const gate = callGate();
    const { emulator, client } = await setup({
      // The first rotation is due ~1.5 s after the socket opened; the old socket stays valid for 5 s.
      emulator: { timings: { connectionExpiryMs: 5000 } },
      client: {
        rateLimiter: gate.limiter,
        timings: { rotationMarginMs: 3500 },
        retry: { retries: 1, minDelayMs: 20, maxDelayMs: 50 },
      },
    });
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;

    // The rotation's back-fill is held while a customer message arrives on both sockets.
    gate.holdNext('GetTranscript');
    await nextEvent(session, 'state', (state) => state === 'rotating', 5000);
    await waitUntil(() => gate.held('GetTranscript') === 1, "the rotation's back-fill held");
    emulator.say(chat.contactId, 'during the failed rotation');
    // The message waits in the back-fill's buffer (private, read only to place the failure after it).
    const internals = session as unknown as { buffer?: unknown[] };
    await waitUntil(
      () => (internals.buffer?.length ?? 0) >= 2,
      'the message buffered from both sockets',
      5000,
    );

    // The back-fill then fails (its attempt and its one retry), with the old socket still open.
    emulator.faults.failNext('GetTranscript', { count: 2, status: 500, participant: bot });
    const reconnecting = nextEvent(session, 'reconnecting', () => true, 5000);
    gate.release('GetTranscript');
    expect(await reconnecting).toEqual(['rotation-failed']);
    await nextEvent(session, 'state', (state) => state === 'open', 5000);
    const after = ['after 1', 'after 2', 'after 3'];
    for (const text of after) emulator.say(chat.contactId, text);
    await recorder.receivedExactlyOnce(['during the failed rotation', ...after]);
    expect(session.stats.reconnects).toBe(1);
  });

  it('closeAll() during the join back-fill: the join fails with CB_SESSION_ENDED and leaves no socket', async () => {
    const { emulator, client } = await setup();
    const chat = emulator.startChat();
    emulator.faults.failNext('GetTranscript', { status: 429 });
    onThrottled(client, 'GetTranscript', () => client.closeAll());
    const error = await client
      .join({ instanceId: emulator.instanceId, contactId: chat.contactId, displayName: 'Bot' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.SessionEnded });
    expect(client.sessions.size).toBe(0);
    await waitUntil(
      () => emulator.sockets({ contactId: chat.contactId, role: 'CUSTOM_BOT' }).length === 0,
      'no socket',
    );
  });

  it('the chat ending during the join back-fill: the join fails with CB_CHAT_ENDED, and no session is announced', async () => {
    const { emulator, client } = await setup();
    const chat = emulator.startChat();
    const announced: string[] = [];
    client.on('sessionOpened', () => announced.push('opened'));
    client.on('sessionEnded', () => announced.push('ended'));
    emulator.faults.failNext('GetTranscript', { status: 429 });
    onThrottled(client, 'GetTranscript', () => emulator.endChat(chat.contactId, 'customer'));
    const error = await client
      .join({ instanceId: emulator.instanceId, contactId: chat.contactId, displayName: 'Bot' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.ChatEnded });
    expect({ sessions: client.sessions.size, announced }).toEqual({ sessions: 0, announced: [] });
  });

  it('close() while a recovery retries CreateParticipantConnection: the retry is cancelled, no socket or task is left', async () => {
    const scheduler = new Scheduler();
    const { emulator, client } = await setup({
      // A URL is never reused, so the reconnect must call CreateParticipantConnection.
      client: { scheduler, timings: { urlMaxAgeMs: 1 } },
    });
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const connections = () =>
      emulator.calls.count('CreateParticipantConnection', { participantId: session.participantId });
    const before = connections();
    const socketsOpened = emulator.gateway.opened.get(session.participantId);
    emulator.faults.failNext('CreateParticipantConnection', { status: 429, participant: bot });
    // The call waits for its retry when the session closes.
    onThrottled(client, 'CreateParticipantConnection', () => session.close());
    emulator.faults.dropSockets(bot, 'abrupt');
    await nextEvent(session, 'ended', () => true, 5000);
    // An absence cannot be awaited: the harness's retry delay is at most 2 × 200 ms, so a retry that was not
    // cancelled would have reached the emulator within this wait.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(connections()).toBe(before + 1);
    expect(scheduler.size).toBe(0); // no token refresh, no socket open timeout
    expect(emulator.gateway.opened.get(session.participantId)).toBe(socketsOpened);
    expect(emulator.sockets(bot)).toHaveLength(0);
  });
});

describe('disconnect() racing with a recovery', () => {
  it('a leave that commits while a recovery reconnects ends the session as disconnected, not access-denied', async () => {
    const g = callGate();
    const { emulator, client } = await setup({
      // The URL is never reused: the recovery must call CreateParticipantConnection.
      client: { rateLimiter: g.limiter, timings: { urlMaxAgeMs: 1 } },
    });
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;

    // The recovery's CreateParticipantConnection is held at the limiter.
    g.holdNext('CreateParticipantConnection');
    emulator.faults.dropSockets(bot, 'abrupt');
    await waitUntil(() => g.held('CreateParticipantConnection') === 1, 'the recovery call held', 5000);

    // The leave takes effect but its answer is lost; its retry is held.
    emulator.faults.failNext('DisconnectParticipant', { status: 500, afterCommit: true, participant: bot });
    g.holdNext('DisconnectParticipant'); // the first attempt
    g.holdNext('DisconnectParticipant'); // the retry
    const leaving = session.disconnect();
    await waitUntil(() => g.held('DisconnectParticipant') === 1, 'the leave held', 5000);
    g.release('DisconnectParticipant');
    await waitUntil(() => g.held('DisconnectParticipant') === 1, 'the leave retry held', 5000);
    const me = emulator
      .contact(chat.contactId)
      .participants.find((p) => p.participantId === session.participantId);
    expect(me?.state).toBe('left'); // we are out, as asked

    // The recovery now meets the 403 our own leave causes.
    const ended = nextEvent(session, 'ended', () => true, 5000);
    g.release('CreateParticipantConnection');
    const [reason, error] = await ended;
    g.release('DisconnectParticipant');
    await leaving; // resolves: the leave worked
    expect(emulator.outcome(chat.contactId).wait).toMatchObject({ result: 'BotParticipantDisconnected' });
    expect({ reason, code: error?.code }).toEqual({ reason: 'disconnected', code: undefined });
  });
});
