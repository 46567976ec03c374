import { describe, expect, it } from 'vitest';
import {
  ApiRefusedError,
  ChatClient,
  type ChatItem,
  ErrorCode,
  NetworkError,
  Scheduler,
} from '../../src/index.js';
import { ChatSocket, type SocketListener } from '../../src/transport/socket.js';
import { chatKit, rejection } from '../support/chat.js';
import { joinedChat, setup } from '../support/harness.js';
import { dummyCredentials } from '../support/sdk.js';
import { nextEvent, waitUntil } from '../support/wait.js';

/** The times (ms) of a participant's CreateParticipantConnection calls, as the emulator saw them. */
function connectionCalls(emulator: Awaited<ReturnType<typeof setup>>['emulator'], participantId: string) {
  return emulator.calls.log
    .filter(
      (call) => call.operation === 'CreateParticipantConnection' && call.participantId === participantId,
    )
    .map((call) => call.at);
}

const gapsOf = (times: number[]) => times.slice(1).map((at, i) => at - times[i]!);

describe('subscribe', () => {
  it('resends an unacknowledged aws/subscribe, and the session opens on the same socket', async () => {
    const { emulator, client } = await setup();
    emulator.faults.subscribeAcks(undefined, { drop: 2 }); // the bot's first two subscribe frames
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const [socket] = emulator.sockets({ contactId: chat.contactId, role: 'CUSTOM_BOT' });
    expect(socket).toMatchObject({ subscribed: true, subscribeFrames: 3 });
    expect(emulator.gateway.opened.get(session.participantId)).toBe(1);
    emulator.say(chat.contactId, 'subscribed');
    await recorder.waitForMessages(1);
  });

  it('gives up with CB_SUBSCRIBE_FAILED after the first frame and 3 resends, ackTimeoutMs apart', async () => {
    const { emulator } = await setup();
    const kit = chatKit(emulator);
    const customer = await kit.customer();
    const bot = await kit.bot(customer.contactId);
    emulator.faults.subscribeAcks(bot.participantId, { drop: 100 });
    const listener: SocketListener = { onSocketItem() {}, onSocketClose() {} };
    const socket = await ChatSocket.open(bot.url, listener, new Scheduler(), 5000);
    const started = performance.now();
    const error = await rejection(socket.subscribe({ ackTimeoutMs: 100, resends: 3 }));
    const elapsed = performance.now() - started;
    expect(error.code).toBe(ErrorCode.SubscribeFailed);
    expect(emulator.sockets(bot.participantId)[0]!.subscribeFrames).toBe(4);
    expect(elapsed).toBeGreaterThanOrEqual(4 * 100 - 5);
    socket.terminate();
  });

  it('a join whose socket never gets its ack opens another one', async () => {
    const { emulator, client } = await setup();
    emulator.faults.subscribeAcks(undefined, { drop: 4 }); // everything the first socket sends
    const { session } = await joinedChat(emulator, client);
    expect(session.state).toBe('open');
    expect(emulator.gateway.opened.get(session.participantId)).toBe(2);
  });
});

describe('Expiry values', () => {
  for (const [what, value] of [
    ['missing', null],
    ['unparsable', 'not a time'],
  ] as const) {
    it(`a ${what} ConnectionCredentials.Expiry is CB_INVALID_EXPIRY, retried after invalidExpiryRetryMs`, async () => {
      const { emulator, client } = await setup({
        emulator: { timings: { connectionTokenTtlMs: 2000 } },
        client: {
          timings: { tokenRefreshMarginMs: 1000, tokenRefreshFloorMs: 200, invalidExpiryRetryMs: 800 },
        },
      });
      const { chat, session } = await joinedChat(emulator, client);
      const errors: string[] = [];
      session.on('error', (error) => errors.push(error.code));
      // The first refresh's answer carries the bad Expiry; the one after it is normal.
      emulator.faults.malformExpiries({ contactId: chat.contactId, role: 'CUSTOM_BOT' }, { expiry: value });
      await waitUntil(() => session.stats.tokenRefreshes >= 2, 'two refreshes', 5000);
      expect(errors).toEqual([ErrorCode.InvalidExpiry]);
      const calls = connectionCalls(emulator, session.participantId);
      expect(calls).toHaveLength(3); // join, the refresh with the bad Expiry, the retry
      expect(calls[2]! - calls[1]!).toBeGreaterThanOrEqual(800 - 50);
      await session.sendMessage('the token still works');
    });
  }
});

describe('a token refresh answer without a ConnectionToken', () => {
  it('is reported and retried with backoff; the session keeps its token meanwhile', async () => {
    const { emulator, client } = await setup({
      emulator: { timings: { connectionTokenTtlMs: 2000 } },
      client: { timings: { tokenRefreshMarginMs: 1000, tokenRefreshFloorMs: 200 } },
    });
    const { chat, session } = await joinedChat(emulator, client);
    const errors: Array<{ code: string; message: string }> = [];
    session.on('error', (error) => errors.push(error));
    // The first refresh's answer has no ConnectionToken; the one after it is normal.
    emulator.faults.malformExpiries(
      { contactId: chat.contactId, role: 'CUSTOM_BOT' },
      { connectionToken: null },
    );
    await nextEvent(session, 'tokenRefreshed', () => true, 5000);
    expect(errors).toEqual([
      expect.objectContaining({
        code: ErrorCode.BadResponse,
        message: expect.stringContaining('no ConnectionToken'),
      }),
    ]);
    const calls = connectionCalls(emulator, session.participantId);
    expect(calls).toHaveLength(3); // join, the refresh without a token, the retry
    // The retry waits the refresh floor (then doubles): never a tight loop.
    expect(calls[2]! - calls[1]!).toBeGreaterThanOrEqual(200 - 20);
    expect(session.stats.tokenRefreshes).toBe(1);
    await session.sendMessage('the token still works');
  });
});

describe('ConnectionExpiry values', () => {
  it('a missing Websocket.ConnectionExpiry is CB_INVALID_EXPIRY, and the socket is rotated at maxSocketAgeMs', async () => {
    const { emulator, client } = await setup({
      emulator: { timings: { connectionExpiryMs: 60_000 } },
      client: { timings: { maxSocketAgeMs: 600, rotationMarginMs: 1000 } },
    });
    const { chat, session } = await joinedChat(emulator, client);
    const errors: string[] = [];
    session.on('error', (error) => errors.push(error.code));
    // The first rotation's CreateParticipantConnection answers without a ConnectionExpiry.
    emulator.faults.malformExpiries(
      { contactId: chat.contactId, role: 'CUSTOM_BOT' },
      { connectionExpiry: null },
    );
    await nextEvent(session, 'rotated', () => true, 3000);
    const firstAt = performance.now();
    expect(errors).toEqual([ErrorCode.InvalidExpiry]);
    await nextEvent(session, 'rotated', () => true, 3000);
    expect(performance.now() - firstAt).toBeGreaterThanOrEqual(500);
    expect(session.stats).toMatchObject({ rotations: 2, reconnects: 0 });
  });
});

describe('websocket URLs and socket age', () => {
  it('reuses a websocket URL younger than urlMaxAgeMs for a reconnect, and fetches a new one after', async () => {
    const { emulator, client } = await setup({
      emulator: { timings: { websocketUrlTtlMs: 1500 } },
      client: { timings: { urlMaxAgeMs: 1500 } },
    });
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const joinedAt = performance.now();
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const calls = () => connectionCalls(emulator, session.participantId).length;

    emulator.faults.dropSockets(bot, 'abrupt');
    await nextEvent(session, 'state', (state) => state === 'open');
    expect(calls()).toBe(1); // the join's URL again

    // Waiting on the clock itself: the URL has to grow old.
    await waitUntil(() => performance.now() - joinedAt > 1600, 'the URL to pass urlMaxAgeMs');
    emulator.faults.dropSockets(bot, 'abrupt');
    await nextEvent(session, 'state', (state) => state === 'open');
    expect(calls()).toBe(2);
    expect(emulator.gateway.opened.get(session.participantId)).toBe(3);
    expect(emulator.gateway.refusedUpgrades).toBe(0); // the stale URL was never tried
    emulator.say(chat.contactId, 'on the third socket');
    await recorder.waitForMessages(1);
  });

  it('reconnect attempts back off exponentially with jitter, up to reconnectMaxDelayMs and spread below it', async () => {
    const { emulator, client } = await setup({
      client: {
        retry: { retries: 0 }, // one call per attempt: the gaps are the reconnect backoff alone
        timings: { urlMaxAgeMs: 1, reconnectMinDelayMs: 50, reconnectMaxDelayMs: 300 },
      },
    });
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    emulator.faults.failNext('CreateParticipantConnection', { count: 9, status: 500, participant: bot });
    emulator.faults.dropSockets(bot, 'abrupt');
    await nextEvent(session, 'state', (state) => state === 'open', 10_000);
    const gaps = gapsOf(connectionCalls(emulator, session.participantId).slice(1)); // the 10 attempts
    expect(gaps).toHaveLength(9);
    // 50–100, 100–200, then the 300 ms cap jittered down by up to half: without the cap the last would be
    // 3.2–6.4 s; without the jitter at the cap, every chat of a host would come back on the same beat.
    expect(gaps[0]!).toBeLessThan(gaps.at(-1)!);
    const atCap = gaps.slice(3); // from the 4th, where 50 ms × 2³ × 1–2 is over the cap

    for (const gap of atCap) expect(gap, `gaps ${gaps.join(', ')} ms`).toBeGreaterThanOrEqual(145);
    expect(atCap.filter((gap) => gap < 0.9 * 300).length, `gaps ${gaps.join(', ')} ms`).toBeGreaterThan(0);
    for (const gap of gaps) expect(gap).toBeLessThan(1000); // the cap plus a loaded machine's slack
  });

  it('rotates at maxSocketAgeMs when ConnectionExpiry is further away', async () => {
    const { emulator, client } = await setup({
      emulator: { timings: { connectionExpiryMs: 60_000 } },
      client: { timings: { maxSocketAgeMs: 600, rotationMarginMs: 1000 } },
    });
    const { session } = await joinedChat(emulator, client);
    const openedAt = performance.now();
    await nextEvent(session, 'rotated', () => true, 3000);
    const after = performance.now() - openedAt;
    expect(after).toBeGreaterThanOrEqual(500);
    expect(after).toBeLessThan(1500);
  });
});

describe('idempotency and error kinds', () => {
  it('reuses the ClientToken when an answer is lost: one bot, one message', async () => {
    const { emulator, client } = await setup();
    // Both calls take effect and answer 500; the retries must be recognised as the same requests.
    emulator.faults.failNext('CreateParticipant', { status: 500, afterCommit: true });
    const { chat, session } = await joinedChat(emulator, client);
    expect(emulator.calls.count('CreateParticipant')).toBe(2);
    const bots = emulator.contact(chat.contactId).participants.filter((p) => p.role === 'CUSTOM_BOT');
    expect(bots.map((p) => p.participantId)).toEqual([session.participantId]);

    emulator.faults.failNext('SendMessage', { status: 500, afterCommit: true });
    const sent = await session.sendMessage('once only');
    expect(emulator.calls.count('SendMessage')).toBe(2);
    const copies = emulator.transcript(chat.contactId).filter((item) => item.Content === 'once only');
    expect(copies.map((item) => item.Id)).toEqual([sent.id]);
  });

  it('tells a refusal (ApiRefusedError) from no answer at all (NetworkError)', async () => {
    const { emulator, client } = await setup();
    const chat = emulator.startChat();
    const refused = await rejection(
      client.join({ instanceId: 'no-such-instance', contactId: chat.contactId, displayName: 'Bot' }),
    );
    expect(refused).toBeInstanceOf(ApiRefusedError);
    expect(refused).toMatchObject({
      code: ErrorCode.ApiRefused,
      status: 404,
      operation: 'CreateParticipant',
    });

    // Nothing listens on port 1 of the loopback interface: connection refused.
    const unreachable = new ChatClient({
      region: emulator.region,
      endpoint: 'http://127.0.0.1:1',
      credentials: dummyCredentials,
      retry: { retries: 1, minDelayMs: 10, maxDelayMs: 10 },
    });
    const failed = await rejection(
      unreachable.join({ instanceId: emulator.instanceId, contactId: chat.contactId, displayName: 'Bot' }),
    );
    expect(failed).toBeInstanceOf(NetworkError);
    expect(failed).toMatchObject({ code: ErrorCode.Network, operation: 'CreateParticipant' });
    unreachable.aws.connect.destroy();
    unreachable.aws.participant.destroy();
  });
});

describe('listeners', () => {
  it("a listener that throws is an error event; the item's other events, later items and the end still happen", async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const failures: Array<{ code: string; cause: unknown }> = [];
    session.on('error', (error) => failures.push({ code: error.code, cause: error.cause }));
    session.on('message', (item) => {
      if (item.Content === 'boom') throw new Error('listener bug');
    });
    session.on('event', () => {
      throw new Error('event listener bug');
    });
    emulator.say(chat.contactId, 'boom');
    emulator.say(chat.contactId, 'after the throw');
    await recorder.waitForMessages(2);
    expect(recorder.customerMessages()).toEqual(['boom', 'after the throw']);

    const ended = nextEvent(session, 'ended');
    emulator.endChat(chat.contactId, 'customer');
    expect((await ended)[0]).toBe('chat-ended');
    expect(failures.map((f) => f.code)).toEqual([ErrorCode.HandlerFailed, ErrorCode.HandlerFailed]);
    expect((failures[0]!.cause as Error).message).toBe('listener bug');
    expect(session.openSockets).toBe(0);
  });

  it('listeners after a throwing one still get the item; once, context and removal work as in emit', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const failures: string[] = [];
    session.on('error', (error) => failures.push(error.code));
    const seen: string[] = [];
    const late = (item: ChatItem) => seen.push(`late ${item.Content}`);
    session.on('message', () => {
      throw new Error('first listener bug');
    });
    session.once('message', (item) => seen.push(`once ${item.Content}`));
    const owner = { name: 'owner' };
    session.on(
      'message',
      function (this: typeof owner, item) {
        seen.push(`${this.name} ${item.Content}`);
        if (item.Content === 'one') session.off('message', late); // takes effect from the next item
      },
      owner,
    );
    session.on('message', late);
    emulator.say(chat.contactId, 'one');
    emulator.say(chat.contactId, 'two');
    await recorder.waitForMessages(2);
    expect(seen).toEqual(['once one', 'owner one', 'late one', 'owner two']);
    expect(failures).toEqual([ErrorCode.HandlerFailed, ErrorCode.HandlerFailed]);
    expect(session.listenerCount('message')).toBe(2); // the thrower and the owner's
  });
});

describe("listeners of the session's own notifications", () => {
  it('a throwing error, state or ended listener stops neither the recovery nor the end', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    for (const event of ['error', 'state', 'reconnecting', 'ended'] as const) {
      session.on(event, () => {
        throw new Error(`${event} listener bug`);
      });
    }
    client.on('sessionError', () => {
      throw new Error('client listener bug');
    });
    session.on('message', (item) => {
      if (item.Content === 'boom') throw new Error('message listener bug'); // becomes an error event
    });
    emulator.say(chat.contactId, 'boom');
    emulator.faults.dropSockets(bot, 'abrupt');
    emulator.say(chat.contactId, 'missed while down');
    await recorder.waitForMessages(2);
    await waitUntil(() => session.state === 'open', 'the session open again');
    emulator.endChat(chat.contactId, 'customer');
    await waitUntil(() => client.sessions.size === 0, 'the session gone from the client');
    expect(session.endedBecause).toBe('chat-ended');
    expect(session.openSockets).toBe(0);
  });
});

describe('a back-fill cursor the service does not know', () => {
  /** A joined bot that saw 'one', released; 'two' and 'three' come while nobody holds it. */
  async function releasedAfterOne() {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    emulator.say(chat.contactId, 'one');
    await recorder.waitForMessages(1);
    const snapshot = session.snapshot();
    expect(snapshot.cursorTime).toBe(recorder.items.at(-1)!.AbsoluteTime);
    session.close();
    // The items after it must be later by the clock, as AbsoluteTime counts milliseconds.
    await waitUntil(() => Date.now() > Date.parse(snapshot.cursorTime!), 'the next millisecond');
    emulator.say(chat.contactId, 'two');
    emulator.say(chat.contactId, 'three');
    const errors: string[] = [];
    client.on('sessionError', (_session, error) => errors.push(error.code));
    const delivered: string[] = [];
    client.on('sessionOpened', (opened) =>
      opened.on('message', (item) => delivered.push(item.Content ?? '')),
    );
    return { emulator, client, chat, snapshot, errors, delivered };
  }

  it('back-fills the items after the cursor time from the newest page (CB_CURSOR_UNKNOWN)', async () => {
    const { emulator, client, chat, snapshot, errors, delivered } = await releasedAfterOne();
    const resumed = await client.resume({ ...snapshot, cursor: 'not-an-item-of-this-chat' });
    await waitUntil(() => delivered.length === 2, 'the back-filled messages');
    expect(errors).toEqual([ErrorCode.CursorUnknown]);
    emulator.say(chat.contactId, 'four');
    await waitUntil(() => delivered.length === 3, 'a live message');
    expect(delivered).toEqual(['two', 'three', 'four']);
    expect(resumed.state).toBe('open');
    // The next back-fill starts from items the service knows: no second CB_CURSOR_UNKNOWN.
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const reopened = nextEvent(resumed, 'state', (state) => state === 'open', 5000);
    emulator.faults.dropSockets(bot, 'abrupt');
    await reopened;
    emulator.say(chat.contactId, 'five');
    await waitUntil(() => delivered.length === 4, 'a live message after the reconnect');
    expect(delivered).toEqual(['two', 'three', 'four', 'five']);
    expect(errors).toEqual([ErrorCode.CursorUnknown]);
  });

  it('without a cursor time, back-fills nothing rather than repeat history, and goes on live', async () => {
    const { emulator, client, chat, snapshot, errors, delivered } = await releasedAfterOne();
    const { cursorTime: _unknown, ...withoutTime } = snapshot;
    const resumed = await client.resume({ ...withoutTime, cursor: 'not-an-item-of-this-chat' });
    expect(errors).toEqual([ErrorCode.CursorUnknown]);
    emulator.say(chat.contactId, 'four');
    await waitUntil(() => delivered.length === 1, 'a live message');
    expect(delivered).toEqual(['four']);
    expect(resumed.lastSeenId).toBe(emulator.transcript(chat.contactId).at(-1)!.Id);
  });
});

describe('disconnect', () => {
  it('a leave whose answer was lost ends as disconnected, and disconnect() resolves', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    // The socket will not bring our own participant.left; the retried DisconnectParticipant meets a 403.
    emulator.faults.stopHeartbeats(bot, { dropPushes: true });
    emulator.faults.failNext('DisconnectParticipant', { status: 500, afterCommit: true });
    const ended = nextEvent(session, 'ended');
    await session.disconnect();
    expect((await ended)[0]).toBe('disconnected');
    expect(emulator.outcome(chat.contactId).wait).toMatchObject({ result: 'BotParticipantDisconnected' });
    expect(emulator.calls.count('DisconnectParticipant', { status: 500 })).toBe(1);
  });

  it('retries a failed leave with the same ClientToken', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    emulator.faults.failNext('DisconnectParticipant', { status: 500, count: 2 });
    await session.disconnect();
    expect(session.endedBecause).toBe('disconnected');
    const leaves = emulator.calls.log.filter(
      (call) => call.operation === 'DisconnectParticipant' && call.participantId === session.participantId,
    );
    expect(leaves.map((call) => call.status)).toEqual([500, 500, 200]);
    expect(leaves[0]!.clientToken).toBeTruthy();
    expect(new Set(leaves.map((call) => call.clientToken)).size).toBe(1);
    expect(emulator.outcome(chat.contactId).wait).toMatchObject({ result: 'BotParticipantDisconnected' });
  });
});
