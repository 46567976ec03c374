import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/emulator/index.js';
import { ErrorCode } from '../../src/index.js';
import {
  dropAndReopen,
  handOver,
  joinedChat,
  onThrottled,
  sayOutOfOrder,
  sendReceipts,
  setup,
} from '../support/harness.js';
import { nextEvent, waitUntil } from '../support/wait.js';

const messages = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`);

describe('ChatSession recovery', () => {
  for (const mode of ['clean', 'abrupt'] as const) {
    it(`reconnects after a ${mode} drop and back-fills what was missed, exactly once`, async () => {
      const { emulator, client } = await setup();
      const { chat, session, recorder } = await joinedChat(emulator, client);
      const before = messages('before', 3);
      const during = messages('during', 4);
      const after = messages('after', 3);
      for (const text of before) emulator.say(chat.contactId, text);
      await recorder.waitForMessages(3);

      const reconnecting = nextEvent(session, 'reconnecting');
      emulator.faults.dropSockets({ contactId: chat.contactId, role: 'CUSTOM_BOT' }, mode);
      // Sent while no socket is subscribed: only the back-fill can deliver these.
      for (const text of during) emulator.say(chat.contactId, text);
      expect(await reconnecting).toEqual(['socket-closed']);
      await nextEvent(session, 'state', (state) => state === 'open');
      for (const text of after) emulator.say(chat.contactId, text);

      await recorder.receivedExactlyOnce([...before, ...during, ...after]);
      expect(session.stats.reconnects).toBe(1);
      expect(emulator.sockets({ contactId: chat.contactId, role: 'CUSTOM_BOT' })).toHaveLength(1);
    });
  }

  it('back-fills an item the socket lost before a later one arrived (out-of-order delivery, then a drop)', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    // More items than the back-fill re-reads, so that it starts from an item well before the cursor.
    const before = messages('before', 10);
    for (const text of before) emulator.say(chat.contactId, text);
    await recorder.waitForMessages(before.length);
    // "lost" is stored but never pushed, as a frame in flight when the socket died; "later" arrives, so the
    // cursor (the last item seen) is past "lost". A back-fill from the cursor alone would never return it.
    emulator.faults.pushes(bot, { lose: 1 });
    emulator.say(chat.contactId, 'lost');
    emulator.say(chat.contactId, 'later');
    await recorder.waitForMessages(before.length + 1);
    emulator.faults.dropSockets(bot, 'abrupt');
    emulator.say(chat.contactId, 'during');
    await recorder.receivedExactlyOnce([...before, 'later', 'lost', 'during']);
    // The items re-read before the cursor are skipped quietly: they are not duplicates the service sent.
    expect(session.stats.duplicatesDropped).toBe(0);
    expect(session.stats.reconnects).toBe(1);
  });

  it('re-reads the items before the cursor without repeating them, even once receipts filled the dedupe window', async () => {
    // The smallest window allowed: 16 receipts push the 8 messages out of it, but not out of the back-fill's ring.
    const { emulator, client } = await setup({ client: { dedupeWindow: 16 } });
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const sent = messages('message', 8);
    for (const text of sent) emulator.say(chat.contactId, text);
    await recorder.waitForMessages(sent.length);
    const ids = recorder.items.filter((i) => i.Type === 'MESSAGE').map((i) => i.Id);
    await sendReceipts(session, recorder, ids);
    await dropAndReopen(emulator, session);
    emulator.say(chat.contactId, 'after the reconnect');
    await recorder.receivedExactlyOnce([...sent, 'after the reconnect']);
    expect(session.stats.reconnects).toBe(1);
  });

  it('does not repeat an item it accepted out of order, found after the cursor, once receipts filled the window', async () => {
    const { emulator, client } = await setup({ client: { dedupeWindow: 16 } });
    const { chat, session, recorder } = await joinedChat(emulator, client);
    // The cursor is A, and B comes after it in the back-fill's pages.
    const a = await sayOutOfOrder(emulator, session, recorder);
    // 16 receipts push A and B out of the 16-Id dedupe window (not out of the back-fill's ring).
    await sendReceipts(session, recorder, [a.Id], 8);
    await dropAndReopen(emulator, session);
    emulator.say(chat.contactId, 'after');
    await recorder.receivedExactlyOnce(['first', 'B', 'A', 'after']);
  });

  it('after a resume, back-fills an item lost in flight before a later one arrived', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    emulator.say(chat.contactId, 'before');
    await recorder.waitForMessages(1);
    const { resumed, recorder: resumedRecorder } = await handOver(client, session);
    // "lost" is stored but never pushed; "later" arrives, so the cursor is past "lost".
    emulator.faults.pushes(bot, { lose: 1 });
    emulator.say(chat.contactId, 'lost');
    emulator.say(chat.contactId, 'later');
    await resumedRecorder.waitForMessages(1);
    expect(resumedRecorder.customerMessages()).toEqual(['later']);
    await dropAndReopen(emulator, resumed);
    emulator.say(chat.contactId, 'after');
    await resumedRecorder.receivedExactlyOnce(['later', 'lost', 'after']);
    expect(resumed.stats.reconnects).toBe(1);
  });

  it('delivers what arrives live during a back-fill after the missed items, in order', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const during = messages('during', 4);
    const live = messages('live', 3);
    // The back-fill's GetTranscript is throttled once; in its retry delay the new socket is already
    // subscribed and receives the live messages.
    emulator.faults.failNext('GetTranscript', { status: 429, participant: bot });
    let liveSent = false;
    onThrottled(client, 'GetTranscript', () => {
      for (const text of live) emulator.say(chat.contactId, text);
      liveSent = true;
    });
    emulator.faults.dropSockets(bot, 'abrupt');
    for (const text of during) emulator.say(chat.contactId, text);
    await recorder.receivedExactlyOnce([...during, ...live]);
    expect(liveSent).toBe(true);
    expect(session.stats.reconnects).toBe(1);
  });

  it('follows NextToken through a back-fill of several pages', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const pages = () => emulator.calls.count('GetTranscript', { participantId: session.participantId });
    const before = pages();
    emulator.faults.dropSockets(bot, 'abrupt');
    const missed = messages('missed', 250); // GetTranscript pages hold at most 100 items
    for (const text of missed) emulator.say(chat.contactId, text);
    await recorder.receivedExactlyOnce(missed);
    expect(pages() - before).toBeGreaterThanOrEqual(3);
  });

  it('stops a back-fill whose NextToken comes back (CB_TRANSCRIPT_LOOP) instead of paging forever', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const pages = () => emulator.calls.count('GetTranscript', { participantId: session.participantId });
    const before = pages();
    // Every page asked for with a NextToken comes back with that same NextToken.
    emulator.faults.repeatNextTokens(bot, { count: 1000 });
    const looped = nextEvent(session, 'error', (error) => error.code === ErrorCode.TranscriptLoop, 10_000);
    emulator.faults.dropSockets(bot, 'abrupt');
    const missed = messages('missed', 250);
    for (const text of missed) emulator.say(chat.contactId, text);
    await looped;
    await nextEvent(session, 'state', (state) => state === 'open');
    // The first page, then the second (whose NextToken is the one just sent): two calls, and no third.
    expect(pages() - before).toBe(2);
    emulator.say(chat.contactId, 'live');
    await waitUntil(() => recorder.customerMessages().includes('live'), 'the live message');
    const delivered = recorder.customerMessages();
    expect(delivered.slice(0, -1)).toEqual(missed.slice(0, delivered.length - 1));
    // Two pages of at most 100 items, the first of which starts a few items before the cursor.
    expect(delivered.length - 1).toBeGreaterThan(100);
    expect(delivered.length - 1).toBeLessThanOrEqual(200);
    expect(new Set(recorder.ids()).size).toBe(recorder.ids().length);
  });

  it('detects a zombie socket (heartbeats unanswered) within two intervals and replaces it', async () => {
    const { emulator, client } = await setup({ client: { timings: { heartbeatIntervalMs: 400 } } });
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const interval = client.timings.heartbeatIntervalMs;
    const socketsBefore = emulator.gateway.opened.get(session.participantId);

    const stoppedAt = performance.now();
    emulator.faults.stopHeartbeats(bot, { dropPushes: true });
    emulator.say(chat.contactId, 'lost on the zombie');
    let eaten: number[] = [];
    const [reason] = await nextEvent(
      session,
      'reconnecting',
      () => {
        // The zombie is still open on the emulator's side when recovery starts.
        eaten = emulator.sockets(bot).map((socket) => socket.heartbeatsEaten);
        return true;
      },
      interval * 4,
    );
    const detectedAfter = performance.now() - stoppedAt;
    expect(reason).toBe('heartbeat-timeout');
    // Recovery starts on the first unanswered heartbeat, whatever the timing: a client that waited for a
    // second one would have had it eaten as well. Hence detection within two intervals (one to send it, one
    // to miss its answer).
    expect(eaten).toEqual([1]);
    expect(detectedAfter).toBeLessThanOrEqual(2 * interval + 300); // + scheduling slack on a busy machine

    await nextEvent(session, 'state', (state) => state === 'open');
    expect(emulator.gateway.opened.get(session.participantId)).toBe((socketsBefore ?? 0) + 1);
    emulator.say(chat.contactId, 'on the new socket');
    await recorder.receivedExactlyOnce(['lost on the zombie', 'on the new socket']);
  });

  it('rotates make-before-break across 10 rotations with zero lost and zero duplicated items', async () => {
    const { emulator, client } = await setup({
      // The emulator closes every socket 900 ms after it opened, about when its ConnectionExpiry passes: a
      // rotation that came too late would show up as a reconnect.
      emulator: { timings: { connectionExpiryMs: 900, maxSocketLifetimeMs: 1000 } },
      client: { timings: { rotationMarginMs: 500 } },
    });
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const sent: string[] = [];
    const subscribedAtSwitch: number[] = [];
    session.on('rotated', () => {
      // The old socket's close is only on its way: both are still subscribed at the switch.
      subscribedAtSwitch.push(emulator.sockets(bot).filter((socket) => socket.subscribed).length);
    });
    // Customer traffic throughout, so items arrive on both sockets during every overlap.
    const deadline = performance.now() + 20_000;
    while (subscribedAtSwitch.length < 10) {
      const text = `message ${sent.length + 1}`;
      emulator.say(chat.contactId, text);
      sent.push(text);
      await new Promise((resolve) => setTimeout(resolve, 25)); // paces the traffic; nothing waits on it
      if (performance.now() > deadline) throw new Error(`${subscribedAtSwitch.length} rotations in 20 s`);
    }
    await recorder.receivedExactlyOnce(sent);
    expect(subscribedAtSwitch).toEqual(Array(subscribedAtSwitch.length).fill(2));
    expect(session.stats.reconnects).toBe(0);
    expect(session.stats.rotations).toBeGreaterThanOrEqual(10);
    await waitUntil(
      () => emulator.sockets({ contactId: chat.contactId, role: 'CUSTOM_BOT' }).length === 1,
      'old sockets closed',
    );
  });

  it('keeps the old socket when a rotation fails, and rotates on the next try: no reconnect, nothing lost', async () => {
    const { emulator, client } = await setup({
      // The first rotation is due 1.5 s after the socket opened; the old socket stays valid for 5 s.
      emulator: { timings: { connectionExpiryMs: 5000 } },
      client: { timings: { rotationMarginMs: 3500 } },
    });
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const opened = emulator.gateway.opened.get(session.participantId)!;
    const states: string[] = [];
    session.on('state', (state) => states.push(state));
    const errors: string[] = [];
    session.on('error', (error) => errors.push(error.code));
    // The rotation's new socket never gets its subscribe acknowledged (the first frame and 3 resends).
    emulator.faults.subscribeAcks(bot, { drop: 4 });
    const rotated = nextEvent(session, 'rotated', () => true, 8000);
    const sent: string[] = [];
    let done = false;
    void rotated.finally(() => {
      done = true;
    });
    // Customer traffic throughout: the old socket delivers while the rotation fails and is tried again.
    while (!done && sent.length < 400) {
      const text = `message ${sent.length + 1}`;
      emulator.say(chat.contactId, text);
      sent.push(text);
      await new Promise((resolve) => setTimeout(resolve, 25)); // paces the traffic; nothing waits on it
    }
    await rotated;
    await recorder.receivedExactlyOnce(sent);
    expect(errors).toEqual([ErrorCode.SubscribeFailed]);
    expect(states).toEqual(['rotating', 'open', 'rotating', 'open']);
    expect(session.stats).toMatchObject({ rotations: 1, reconnects: 0 });
    expect(emulator.gateway.opened.get(session.participantId)).toBe(opened + 2);
  });

  it('refreshes the ConnectionToken before its Expiry, on schedule, without a tight loop', async () => {
    const { emulator, client } = await setup({
      emulator: { timings: { connectionTokenTtlMs: 2000 } },
      client: { timings: { tokenRefreshMarginMs: 1000, tokenRefreshFloorMs: 200 } },
    });
    const { chat, session } = await joinedChat(emulator, client);
    const refreshedAt: number[] = [];
    session.on('tokenRefreshed', () => refreshedAt.push(performance.now()));
    await waitUntil(() => refreshedAt.length >= 5, '5 token refreshes', 10_000);
    // Each token lives 2 s and is replaced 1 s before it expires: refreshes 1 s apart, not at the 200 ms floor
    // and not in a loop.
    const gaps = refreshedAt.slice(1).map((at, i) => at - refreshedAt[i]!);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(700);
      expect(gap).toBeLessThan(1600);
    }
    // One join call plus one per refresh.
    const calls = emulator.calls.count('CreateParticipantConnection', {
      participantId: session.participantId,
    });
    expect(calls).toBeGreaterThanOrEqual(6);
    expect(calls).toBeLessThanOrEqual(7);
    // No call ever went out with an expired token.
    expect(emulator.calls.count(undefined, { participantId: session.participantId, status: 403 })).toBe(0);
    await session.sendMessage('still here');
    expect(emulator.transcript(chat.contactId).some((item) => item.Content === 'still here')).toBe(true);
  });

  it('reports a past Expiry as CB_INVALID_EXPIRY and never loops on it', async () => {
    // The emulator's clock runs an hour behind: every Expiry and ConnectionExpiry it hands out is already in
    // the past for the client, while the tokens still work. A naive client would refresh in a tight loop.
    const skewed = { ...systemClock, now: () => Date.now() - 3_600_000 };
    const { emulator, client } = await setup({
      emulator: { clock: skewed, timings: { connectionTokenTtlMs: 60_000, connectionExpiryMs: 60_000 } },
      client: { timings: { invalidExpiryRetryMs: 60_000 } },
    });
    const errors: string[] = [];
    client.on('sessionError', (_session, error) => errors.push(error.code));
    const { session } = await joinedChat(emulator, client);
    expect(errors.filter((code) => code === 'CB_INVALID_EXPIRY').length).toBeGreaterThanOrEqual(2); // token + socket
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(emulator.calls.count('CreateParticipantConnection')).toBe(1);
    expect(session.stats).toMatchObject({ rotations: 0, tokenRefreshes: 0, reconnects: 0 });
    await session.sendMessage('tokens still work');
  });

  it('retries 429 and 500 bursts and then succeeds', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    emulator.faults.failNext('SendMessage', { count: 2, status: 429 });
    const before = emulator.calls.count('SendMessage');
    await session.sendMessage('after throttling');
    expect(emulator.calls.count('SendMessage') - before).toBe(3);

    emulator.faults.failNext('SendMessage', { count: 3, status: 500 });
    await session.sendMessage('after 500s');
    expect(emulator.calls.count('SendMessage') - before).toBe(7);
    const sentTexts = emulator.transcript(chat.contactId).map((item) => item.Content);
    expect(sentTexts.filter((t) => t === 'after throttling')).toHaveLength(1);
    expect(sentTexts.filter((t) => t === 'after 500s')).toHaveLength(1);
  });

  it('rides out a burst of 500s on CreateParticipantConnection during a reconnect', async () => {
    // A URL is never reused, so the reconnect must call CreateParticipantConnection.
    const { emulator, client } = await setup({ client: { timings: { urlMaxAgeMs: 1 } } });
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    emulator.faults.failNext('CreateParticipantConnection', { count: 3, status: 500, participant: bot });
    emulator.faults.dropSockets(bot, 'abrupt');
    emulator.say(chat.contactId, 'while reconnecting');
    await nextEvent(session, 'reconnecting');
    await nextEvent(session, 'state', (state) => state === 'open');
    const failed = { participantId: session.participantId, status: 500 };
    expect(emulator.calls.count('CreateParticipantConnection', failed)).toBe(3);
    await recorder.receivedExactlyOnce(['while reconnecting']);
  });
});

describe('ChatSession end', () => {
  it('ends with access-denied when the chat is gone and the socket missed chat.ended (403)', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    emulator.faults.stopHeartbeats({ contactId: chat.contactId, role: 'CUSTOM_BOT' }, { dropPushes: true });
    emulator.endChat(chat.contactId, 'system');
    const [reason] = await nextEvent(session, 'ended');
    expect(reason).toBe('access-denied');
    await expect(session.sendMessage('nope')).rejects.toMatchObject({ code: 'CB_SESSION_ENDED' });
  });

  it('ends with access-denied when an action gets 403 and a fresh connection is refused', async () => {
    const { emulator, client } = await setup({ emulator: { timings: { endedSocketGraceMs: 60_000 } } });
    const { chat, session } = await joinedChat(emulator, client);
    emulator.faults.stopHeartbeats({ contactId: chat.contactId, role: 'CUSTOM_BOT' }, { dropPushes: true });
    emulator.endChat(chat.contactId, 'system');
    const ended = nextEvent(session, 'ended');
    await expect(session.sendMessage('too late')).rejects.toMatchObject({ code: 'CB_CHAT_ENDED' });
    expect((await ended)[0]).toBe('access-denied');
  });

  it('recovers from an expired ConnectionToken with a fresh one', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const lifecycle: string[] = [];
    client.on('lifecycle', (_session, event) => lifecycle.push(event));
    let announced = 0;
    session.on('tokenRefreshed', () => announced++);
    emulator.faults.expireConnectionTokens({ contactId: chat.contactId, role: 'CUSTOM_BOT' });
    await session.sendMessage('with a new token');
    expect(session.state).toBe('open');
    // Counted and announced as any refresh is (the playground's Refreshes column, bothost_token_refreshes_total).
    expect({ refreshes: session.stats.tokenRefreshes, announced, lifecycle }).toEqual({
      refreshes: 1,
      announced: 1,
      lifecycle: ['refresh'],
    });
  });

  it('ends with removed when an agent joins', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const ended = nextEvent(session, 'ended');
    emulator.agentJoins(chat.contactId);
    expect((await ended)[0]).toBe('removed');
  });

  it('ends with chat-ended on the chat.ended event, and does not reconnect', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const ended = nextEvent(session, 'ended');
    emulator.endChat(chat.contactId, 'customer');
    expect((await ended)[0]).toBe('chat-ended');
    expect(recorder.items.at(-1)?.ContentType).toBe('application/vnd.amazonaws.connect.event.chat.ended');
    const opened = emulator.gateway.opened.get(session.participantId);
    // An absence cannot be awaited: two heartbeat intervals, in which a reconnect would have opened a socket.
    await new Promise((resolve) => setTimeout(resolve, 2 * client.timings.heartbeatIntervalMs));
    expect(emulator.gateway.opened.get(session.participantId)).toBe(opened);
    expect(emulator.sockets({ contactId: chat.contactId, role: 'CUSTOM_BOT' })).toHaveLength(0);
    expect(session.stats.reconnects).toBe(0);
  });

  it('drops duplicate pushes and keeps order', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    emulator.faults.pushes({ contactId: chat.contactId, role: 'CUSTOM_BOT' }, { duplicate: 5 });
    for (const text of messages('dup', 5)) emulator.say(chat.contactId, text);
    await recorder.receivedExactlyOnce(messages('dup', 5));
    expect(session.stats.duplicatesDropped).toBe(5);
  });
});
