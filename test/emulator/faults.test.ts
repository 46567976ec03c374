import {
  ConflictException,
  DescribeContactCommand,
  InternalServiceException,
  StopContactCommand,
} from '@aws-sdk/client-connect';
import {
  AccessDeniedException,
  GetTranscriptCommand,
  InternalServerException,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-connectparticipant';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, EVENT, startEmulator, systemClock } from '../../src/emulator/index.js';
import { chatKit, rejection, statusOf } from '../support/chat.js';
import { ChatjsCustomer } from '../support/chatjs-customer.js';
import { nextEvent, waitUntil } from '../support/wait.js';
import { TestSocket } from '../support/ws-client.js';

// Every fault knob, observed by a real client: the AWS SDK, a bare websocket, or chatjs.

let emulator: Emulator;
let chat: ReturnType<typeof chatKit>;
const sockets: TestSocket[] = [];

async function open(url: string): Promise<TestSocket> {
  const socket = await TestSocket.subscribed(url);
  sockets.push(socket);
  return socket;
}

/** Frames are answered in order: once the ack of a later frame is in, an earlier frame's reply would be too. */
async function barrier(socket: TestSocket): Promise<void> {
  const from = socket.frames.length;
  socket.send({ topic: 'aws/subscribe', content: { topics: ['aws/chat'] } });
  await socket.next((f) => f.topic === 'aws/subscribe', 5000, from);
}

beforeEach(async () => {
  emulator = await startEmulator({ timings: { endedSocketGraceMs: 100 } });
  chat = chatKit(emulator);
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await emulator.close();
});

describe('dropSockets', () => {
  it('closes cleanly with 1000 or abruptly with 1006', async () => {
    const customer = await chat.customer();
    const clean = await open(customer.url);
    expect(emulator.faults.dropSockets(customer.participantId, 'clean')).toBe(1);
    expect((await clean.waitClosed()).code).toBe(1000);

    const { url } = await chat.connectParticipant(customer.participantToken);
    const abrupt = await open(url);
    expect(emulator.faults.dropSockets({ contactId: customer.contactId, role: 'CUSTOMER' }, 'abrupt')).toBe(
      1,
    );
    expect((await abrupt.waitClosed()).code).toBe(1006);
    await waitUntil(() => emulator.sockets(customer.participantId).length === 0, 'sockets to be gone');
  });

  it('makes chatjs reconnect with one new CreateParticipantConnection each time', async () => {
    const details = await chat.startChat();
    const customer = await ChatjsCustomer.start();
    try {
      await customer.connect(emulator.endpoint, emulator.region, {
        ContactId: details.contactId,
        ParticipantId: details.participantId,
        ParticipantToken: details.participantToken,
      });
      await customer.established();
      await waitUntil(
        () => emulator.sockets(details.participantId).some((s) => s.subscribed),
        "chatjs's socket to subscribe",
      );
      const bot = await chat.bot(details.contactId);
      const connections = () =>
        emulator.calls.count('CreateParticipantConnection', { participantId: details.participantId });
      expect(connections()).toBe(1);

      for (const [round, mode] of (['clean', 'abrupt'] as const).entries()) {
        const before = customer.events.length;
        emulator.faults.dropSockets(details.participantId, mode);
        await customer.next((e) => e.name === 'onConnectionLost', 5000, before);
        await customer.next(
          (e) => e.name === 'onConnectionEstablished' && (e.data as { keys: string[] }).keys.includes('data'),
          10_000,
          before,
        );
        await waitUntil(
          () => emulator.sockets(details.participantId).some((s) => s.subscribed),
          'the new socket to subscribe',
        );
        expect(connections()).toBe(round + 2);
        expect(emulator.gateway.opened.get(details.participantId)).toBe(round + 2);
        // Messages flow again on the new socket.
        const sent = await chat.send(bot.token, `after ${mode} drop`);
        await customer.nextMessage((item) => item.Id === sent.Id);
      }
      expect(emulator.sockets(details.participantId)).toEqual([
        expect.objectContaining({ subscribeFrames: 1 }),
      ]);
    } finally {
      await customer.close();
    }
  });
});

describe('stopHeartbeats', () => {
  it('leaves heartbeats and pings unanswered on the current sockets only', async () => {
    const customer = await chat.customer();
    const bot = await chat.bot(customer.contactId);
    const zombie = await open(customer.url);
    zombie.send({ topic: 'aws/heartbeat' });
    await zombie.next((f) => f.topic === 'aws/heartbeat');

    expect(emulator.faults.stopHeartbeats(customer.participantId)).toBe(1);
    const from = zombie.frames.length;
    zombie.send({ topic: 'aws/heartbeat' });
    zombie.send({ topic: 'aws/ping' });
    await barrier(zombie);
    expect(zombie.frames.slice(from).map((f) => f.topic)).toEqual(['aws/subscribe']);
    // Without dropPushes, pushes still arrive.
    const sent = await chat.send(bot.token, 'still pushed');
    await zombie.nextItem((item) => item.Id === sent.Id);

    // A new connection's socket behaves normally.
    const fresh = await open((await chat.connectParticipant(customer.participantToken)).url);
    fresh.send({ topic: 'aws/heartbeat' });
    await fresh.next((f) => f.topic === 'aws/heartbeat');
    fresh.send({ topic: 'aws/ping' });
    expect(await fresh.next((f) => f.topic === 'aws/ping')).toMatchObject({
      statusCode: 200,
      statusContent: 'OK',
    });
  });

  it('with dropPushes also swallows pushes, while a new socket gets them', async () => {
    const customer = await chat.customer();
    const bot = await chat.bot(customer.contactId);
    const zombie = await open(customer.url);
    emulator.faults.stopHeartbeats(customer.participantId, { dropPushes: true });
    const fresh = await open((await chat.connectParticipant(customer.participantToken)).url);

    const sent = await chat.send(bot.token, 'only for the living');
    await fresh.nextItem((item) => item.Id === sent.Id);
    await barrier(zombie);
    expect(zombie.items().map((item) => item.Id)).not.toContain(sent.Id);
    fresh.send({ topic: 'aws/heartbeat' });
    await fresh.next((f) => f.topic === 'aws/heartbeat');
  });
});

describe('failNext', () => {
  it('fails calls with 429 ThrottlingException or 500 InternalServerException, count respected', async () => {
    const customer = await chat.customer();
    emulator.faults.failNext('SendMessage', { status: 429 });
    const throttled = await rejection(chat.send(customer.token, 'x'));
    expect(throttled).toBeInstanceOf(ThrottlingException);
    expect(statusOf(throttled)).toBe(429);

    emulator.faults.failNext('SendMessage', { status: 500, count: 2 });
    for (let i = 0; i < 2; i++) {
      const failed = await rejection(chat.send(customer.token, 'x'));
      expect(failed).toBeInstanceOf(InternalServerException);
      expect(statusOf(failed)).toBe(500);
    }
    await expect(chat.send(customer.token, 'third time lucky')).resolves.toMatchObject({
      $metadata: { httpStatusCode: 200 },
    });

    // On the Connect API the 500 is InternalServiceException.
    emulator.faults.failNext('DescribeContact', { status: 500 });
    const described = await rejection(
      chat.sdk.connect.send(
        new DescribeContactCommand({ InstanceId: emulator.instanceId, ContactId: customer.contactId }),
      ),
    );
    expect(described).toBeInstanceOf(InternalServiceException);
  });

  it('scoped to a participant, fails only that participant', async () => {
    const customer = await chat.customer();
    const bot = await chat.bot(customer.contactId);
    emulator.faults.failNext('SendMessage', { status: 429, participant: bot.participantId });
    await expect(chat.send(customer.token, 'customer passes')).resolves.toBeTruthy();
    expect(await rejection(chat.send(bot.token, 'bot fails'))).toBeInstanceOf(ThrottlingException);
    await expect(chat.send(bot.token, 'bot passes now')).resolves.toBeTruthy();
  });

  it('is retried through by the SDK with maxAttempts 3', async () => {
    const customer = await chat.customer();
    const retrying = chatKit(emulator, 3);
    emulator.faults.failNext('SendMessage', { status: 500, count: 2 });
    const sent = await retrying.send(customer.token, 'retried');
    expect(sent.$metadata.attempts).toBe(3);
    const mine = { participantId: customer.participantId };
    expect(emulator.calls.count('SendMessage', mine)).toBe(3);
    expect(emulator.calls.count('SendMessage', { ...mine, status: 500 })).toBe(2);
    expect(emulator.transcript(customer.contactId).filter((item) => item.Content === 'retried')).toHaveLength(
      1,
    );
  });
});

describe('quotas', () => {
  it('StopContact has the Connect API default quota (2/s, burst 5; it has none of its own)', async () => {
    // Time stands still: nothing refills while the burst is on the wire.
    const frozen = Date.now();
    const still = await startEmulator({ quotas: true, clock: { ...systemClock, now: () => frozen } });
    try {
      const { connect } = chatKit(still).sdk;
      const stops = Array.from({ length: 8 }, () => still.startChat()).map((started) =>
        connect
          .send(new StopContactCommand({ InstanceId: still.instanceId, ContactId: started.contactId }))
          .then(() => 200, statusOf),
      );
      expect((await Promise.all(stops)).sort()).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    } finally {
      await still.close();
    }
  });

  it('throttle a burst of SendMessage beyond 15 and refill over time', async () => {
    const customer = await chat.customer();
    emulator.faults.quotas(true);
    const results = await Promise.allSettled(
      Array.from({ length: 25 }, (_, i) => chat.send(customer.token, `burst ${i}`)),
    );
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    // 15 in the bucket plus whatever refilled (10/s) while the burst was on the wire.
    expect(ok).toBeGreaterThanOrEqual(15);
    expect(ok).toBeLessThan(25);
    for (const error of refused) {
      expect(error).toBeInstanceOf(ThrottlingException);
      expect(statusOf(error)).toBe(429);
    }
    // SendEvent draws from the same bucket.
    await waitUntil(
      () =>
        chat.send(customer.token, 'refilled').then(
          () => true,
          () => false,
        ),
      'a token to refill',
      3000,
      50,
    );
    emulator.faults.quotas(false);
    await expect(
      Promise.all(Array.from({ length: 20 }, () => chat.send(customer.token, 'unlimited'))),
    ).resolves.toHaveLength(20);
  });
});

describe('setTimings', () => {
  it('shortens the ConnectionToken Expiry, and the token is refused after it', async () => {
    emulator.faults.setTimings({ connectionTokenTtlMs: 1500, connectionExpiryMs: 5000 });
    const before = Date.now();
    const customer = await chat.customer();
    const expiry = Date.parse(customer.response.ConnectionCredentials!.Expiry!);
    expect(expiry - before).toBeGreaterThanOrEqual(1500);
    expect(expiry - Date.now()).toBeLessThanOrEqual(1500);
    const socketExpiry = Date.parse(customer.response.Websocket!.ConnectionExpiry!);
    expect(socketExpiry - before).toBeGreaterThanOrEqual(5000);
    expect(socketExpiry - Date.now()).toBeLessThanOrEqual(5000);

    await expect(chat.send(customer.token, 'in time')).resolves.toBeTruthy();
    await waitUntil(() => Date.now() > expiry, 'the token to expire', 3000);
    const refused = await rejection(chat.send(customer.token, 'too late'));
    expect(refused).toBeInstanceOf(AccessDeniedException);
    expect(statusOf(refused)).toBe(403);
  });

  it('closes sockets at the maximum lifetime with 1001', async () => {
    emulator.faults.setTimings({ maxSocketLifetimeMs: 300 });
    const customer = await chat.customer();
    const socket = await open(customer.url);
    expect(await socket.waitClosed(3000)).toMatchObject({ code: 1001 });
  });

  it('closes a socket that sends nothing for idleSocketTimeoutMs with 1001, and only that one', async () => {
    // The idle sweep's period follows the timing it was scheduled with, so set it from the start.
    await emulator.close();
    emulator = await startEmulator({ timings: { idleSocketTimeoutMs: 800 } });
    chat = chatKit(emulator);
    const customer = await chat.customer();
    const idle = await open(customer.url);
    const busy = await open(customer.url);
    const beat = setInterval(() => busy.send({ topic: 'aws/heartbeat' }), 100);
    try {
      expect(await idle.waitClosed(5000)).toMatchObject({ code: 1001 });
      expect(busy.closed).toBeUndefined();
    } finally {
      clearInterval(beat);
    }
  });

  it('accepts a websocket URL, even twice, only within its window', async () => {
    emulator.faults.setTimings({ websocketUrlTtlMs: 1500 });
    const customer = await chat.customer();
    const issued = Date.now();
    const first = await open(customer.url);
    const second = await open(customer.url);
    expect(emulator.sockets(customer.participantId)).toHaveLength(2);
    first.close();
    second.close();
    await waitUntil(() => Date.now() > issued + 1600, 'the URL window to pass', 3000);
    const late = await rejection(TestSocket.open(customer.url));
    expect(late.message).toContain('403');
  });
});

describe('pushes', () => {
  it('duplicate: the same item Id arrives twice, for the next push only', async () => {
    const customer = await chat.customer();
    const bot = await chat.bot(customer.contactId);
    const socket = await open(customer.url);
    emulator.faults.pushes(customer.participantId, { duplicate: 1 });
    const first = await chat.send(bot.token, 'twice');
    const second = await chat.send(bot.token, 'once');
    await socket.nextItem((item) => item.Id === second.Id);
    expect(socket.items().map((item) => item.Id)).toEqual([first.Id, first.Id, second.Id]);
  });

  it('reorder: two items arrive swapped', async () => {
    const customer = await chat.customer();
    const bot = await chat.bot(customer.contactId);
    const socket = await open(customer.url);
    const botSocket = await open(bot.url);
    emulator.faults.pushes(customer.participantId, { reorder: 1 });
    const a = await chat.send(bot.token, 'A');
    const b = await chat.send(bot.token, 'B');
    const c = await chat.send(bot.token, 'C');
    await socket.nextItem((item) => item.Id === c.Id);
    expect(socket.items().map((item) => item.Content)).toEqual(['B', 'A', 'C']);
    // Only the customer's stream was touched.
    await botSocket.nextItem((item) => item.Id === c.Id);
    expect(botSocket.items().map((item) => item.Id)).toEqual([a.Id, b.Id, c.Id]);
  });

  it('lose: a push never reaches the socket, and the transcript still has it', async () => {
    const customer = await chat.customer();
    const bot = await chat.bot(customer.contactId);
    const socket = await open(customer.url);
    emulator.faults.pushes(customer.participantId, { lose: 1 });
    const a = await chat.send(bot.token, 'A');
    const b = await chat.send(bot.token, 'B');
    await socket.nextItem((item) => item.Id === b.Id);
    expect(socket.items().map((item) => item.Content)).toEqual(['B']);
    expect(emulator.transcript(customer.contactId).map((item) => item.Id)).toEqual(
      expect.arrayContaining([a.Id, b.Id]),
    );
  });

  it('reorder for everyone keeps each item on its own participant', async () => {
    const customer = await chat.customer();
    const bot = await chat.bot(customer.contactId);
    const socket = await open(customer.url);
    const botSocket = await open(bot.url);
    emulator.faults.pushes(undefined, { reorder: 1 });
    await chat.send(bot.token, 'A');
    await chat.send(bot.token, 'B');
    const c = await chat.send(bot.token, 'C');
    await socket.nextItem((item) => item.Id === c.Id);
    await botSocket.nextItem((item) => item.Id === c.Id);
    const contents = (s: TestSocket) => s.items().map((item) => item.Content);
    // One push in total is held back and swapped; nothing is lost or sent to the wrong participant.
    expect([contents(socket), contents(botSocket)]).toContainEqual(['B', 'A', 'C']);
    expect(contents(socket).sort()).toEqual(['A', 'B', 'C']);
    expect(contents(botSocket).sort()).toEqual(['A', 'B', 'C']);
  });
});

describe('repeatNextTokens', () => {
  it('answers a NextToken with the same page and the same NextToken, count times', async () => {
    const customer = await chat.customer();
    for (let i = 0; i < 5; i++) await chat.send(customer.token, `m${i}`);
    const page = (NextToken?: string) =>
      chat.sdk.participant.send(
        new GetTranscriptCommand({
          ConnectionToken: customer.token,
          ScanDirection: 'BACKWARD',
          SortOrder: 'ASCENDING',
          MaxResults: 2,
          ...(NextToken ? { NextToken } : {}),
        }),
      );
    const first = await page();
    expect(first.NextToken).toBeTruthy();
    const second = await page(first.NextToken);
    emulator.faults.repeatNextTokens(customer.participantId, { count: 2 });
    // The first page is asked without a token: not affected.
    expect((await page()).NextToken).toBe(first.NextToken);
    for (let i = 0; i < 2; i++) {
      const repeated = await page(first.NextToken);
      expect(repeated.NextToken).toBe(first.NextToken);
      expect(repeated.Transcript?.map((item) => item.Id)).toEqual(second.Transcript?.map((item) => item.Id));
    }
    expect((await page(first.NextToken)).NextToken).toBe(second.NextToken);
  });
});

describe('failNext afterCommit', () => {
  it('lets the call take effect and fails only its answer', async () => {
    const customer = await chat.customer();
    emulator.faults.failNext('SendMessage', { status: 500, afterCommit: true });
    expect(statusOf(await rejection(chat.send(customer.token, 'lost answer')))).toBe(500);
    const kept = emulator.transcript(customer.contactId).filter((item) => item.Content === 'lost answer');
    expect(kept).toHaveLength(1);
    expect(emulator.calls.count('SendMessage', { status: 500 })).toBe(1);
  });
});

describe('subscribeAcks', () => {
  it('leaves the next subscribe frames unanswered and unsubscribed, then acks again', async () => {
    const customer = await chat.customer();
    emulator.faults.subscribeAcks(customer.participantId, { drop: 2 });
    const socket = await TestSocket.open(customer.url);
    sockets.push(socket);
    for (let i = 0; i < 3; i++) socket.send({ topic: 'aws/subscribe', content: { topics: ['aws/chat'] } });
    await socket.next((f) => f.topic === 'aws/subscribe', 5000);
    const [info] = emulator.sockets(customer.participantId);
    expect(info).toMatchObject({ subscribeFrames: 3, subscribed: true });
    expect(socket.frames.filter((f) => f.topic === 'aws/subscribe')).toHaveLength(1);
  });
});

describe('malformExpiries', () => {
  it('hands out the given Expiry strings, or none, for the next responses only', async () => {
    const customer = await chat.customer();
    const ref = customer.participantId;
    emulator.faults.malformExpiries(ref, { expiry: null, connectionExpiry: 'soon', count: 1 });
    const odd = (await chat.connectParticipant(customer.participantToken)).response;
    expect(odd.ConnectionCredentials?.Expiry).toBeUndefined();
    expect(odd.Websocket?.ConnectionExpiry).toBe('soon');
    await expect(chat.send(odd.ConnectionCredentials!.ConnectionToken!, 'token works')).resolves.toBeTruthy();
    const normal = (await chat.connectParticipant(customer.participantToken)).response;
    expect(Date.parse(normal.ConnectionCredentials!.Expiry!)).toBeGreaterThan(Date.now());
    emulator.faults.malformExpiries(ref, { connectionToken: null });
    const tokenless = (await chat.connectParticipant(customer.participantToken)).response;
    expect(tokenless.ConnectionCredentials?.ConnectionToken).toBeUndefined();
    expect(tokenless.ConnectionCredentials?.Expiry).toBeTruthy();
  });
});

describe('expireConnectionTokens', () => {
  it('makes the next ACPS call 403, while a new CreateParticipantConnection works', async () => {
    const customer = await chat.customer();
    emulator.faults.expireConnectionTokens(customer.participantId);
    const refused = await rejection(
      chat.sdk.participant.send(new GetTranscriptCommand({ ConnectionToken: customer.token })),
    );
    expect(refused).toBeInstanceOf(AccessDeniedException);
    expect(statusOf(refused)).toBe(403);
    const renewed = await chat.connectParticipant(customer.participantToken);
    await expect(chat.send(renewed.token, 'back')).resolves.toBeTruthy();
  });
});

describe('the HTTP control API', () => {
  async function control(path: string, body: unknown = {}) {
    const response = await fetch(`${emulator.endpoint}/_emulator/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('drives the same knobs as the in-process API', async () => {
    const customer = await chat.customer();
    const bot = await chat.bot(customer.contactId);
    const target = { participantId: customer.participantId };

    expect(await control('faults/fail-next', { ...target, operation: 'SendMessage', status: 429 })).toEqual({
      status: 200,
      body: {},
    });
    await expect(chat.send(bot.token, 'bot unaffected')).resolves.toBeTruthy();
    expect(await rejection(chat.send(customer.token, 'x'))).toBeInstanceOf(ThrottlingException);

    await control('faults/fail-next', { operation: 'SendMessage', status: 500, count: 5 });
    expect(await control('faults/clear')).toMatchObject({ status: 200 });
    await expect(chat.send(customer.token, 'cleared')).resolves.toBeTruthy();

    const socket = await open(customer.url);
    await control('faults/pushes', { ...target, duplicate: 1 });
    const doubled = await chat.send(bot.token, 'dup');
    await waitUntil(
      () => socket.items().filter((item) => item.Id === doubled.Id).length === 2,
      'the duplicate push',
    );
    await control('faults/pushes', { ...target, lose: 1 });
    const lost = await chat.send(bot.token, 'lost');
    const after = await chat.send(bot.token, 'after');
    await socket.nextItem((item) => item.Id === after.Id);
    expect(socket.items().some((item) => item.Id === lost.Id)).toBe(false);

    await control('faults/stop-heartbeats', { contactId: customer.contactId, role: 'CUSTOMER' });
    const from = socket.frames.length;
    socket.send({ topic: 'aws/heartbeat' });
    await barrier(socket);
    expect(socket.frames.slice(from).map((f) => f.topic)).toEqual(['aws/subscribe']);

    expect(await control('faults/drop-sockets', { ...target, mode: 'abrupt' })).toEqual({
      status: 200,
      body: { closed: 1 },
    });
    expect((await socket.waitClosed()).code).toBe(1006);

    const timings = await control('faults/timings', { connectionTokenTtlMs: 120_000 });
    expect(timings.body.connectionTokenTtlMs).toBe(120_000);
    const renewed = await chat.connectParticipant(customer.participantToken);
    expect(Date.parse(renewed.response.ConnectionCredentials!.Expiry!) - Date.now()).toBeLessThanOrEqual(
      120_000,
    );

    await control('faults/expire-tokens', target);
    expect(await rejection(chat.send(renewed.token, 'x'))).toBeInstanceOf(AccessDeniedException);

    await control('faults/quotas', {
      enabled: true,
      overrides: { SendMessageOrEvent: { rate: 0.001, burst: 1 } },
    });
    await expect(chat.send(bot.token, 'one token')).resolves.toBeTruthy();
    expect(await rejection(chat.send(bot.token, 'none left'))).toBeInstanceOf(ThrottlingException);
    await control('faults/quotas', { enabled: false });
    await expect(chat.send(bot.token, 'quotas off')).resolves.toBeTruthy();

    const calls = await fetch(`${emulator.endpoint}/_emulator/calls`).then((r) => r.json());
    expect(calls.total).toBe(emulator.calls.count());

    await control('faults/expiries', { ...target, expiry: 'garbage' });
    const odd = await chat.connectParticipant(customer.participantToken);
    expect(odd.response.ConnectionCredentials?.Expiry).toBe('garbage');

    await control('faults/next-tokens', { ...target, count: 1 });
    for (let i = 0; i < 3; i++) await chat.send(odd.token, `page ${i}`);
    const transcriptPage = (NextToken?: string) =>
      chat.sdk.participant.send(
        new GetTranscriptCommand({
          ConnectionToken: odd.token,
          MaxResults: 1,
          ...(NextToken ? { NextToken } : {}),
        }),
      );
    const firstPage = await transcriptPage();
    expect((await transcriptPage(firstPage.NextToken)).NextToken).toBe(firstPage.NextToken);

    await control('faults/subscribe-acks', { ...target, drop: 1 });
    await control('faults/fail-next', {
      ...target,
      operation: 'SendMessage',
      status: 500,
      afterCommit: true,
    });
    const next = await chat.connectParticipant(customer.participantToken);
    expect(statusOf(await rejection(chat.send(next.token, 'kept')))).toBe(500);
    expect(emulator.transcript(customer.contactId).some((item) => item.Content === 'kept')).toBe(true);
    const unacked = await TestSocket.open(next.url);
    sockets.push(unacked);
    unacked.send({ topic: 'aws/subscribe', content: { topics: ['aws/chat'] } });
    await barrier(unacked); // the second subscribe is answered, the first was not
    expect(unacked.frames.filter((f) => f.topic === 'aws/subscribe')).toHaveLength(1);

    expect(await control('faults/fail-next', { operation: 'SendMessage', status: 418 })).toMatchObject({
      status: 400,
      body: { error: 'InvalidInput' },
    });
  });
});

describe('the CUSTOM_BOT rules', () => {
  it('removes a bot that never connects within the window', async () => {
    emulator.faults.setTimings({ botConnectWindowMs: 300 });
    const customer = await chat.customer();
    const bot = await chat.createBot(customer.contactId);
    const [, removed] = await nextEvent(
      emulator.state,
      'participant',
      (_contact, participant: { participantId: string; state: string }) =>
        participant.participantId === bot.participantId && participant.state === 'left',
      5000,
    );
    expect(removed).toMatchObject({ leftReason: 'connect-window-missed' });
    const late = await rejection(chat.connectParticipant(bot.participantToken, true));
    expect(late).toBeInstanceOf(ResourceNotFoundException);
    expect(statusOf(late)).toBe(404);
    // The contact is free for another bot.
    await expect(chat.bot(customer.contactId)).resolves.toBeTruthy();
  });

  it('disconnects the bot when an agent joins, and refuses new bots while the agent is there', async () => {
    const customer = await chat.customer();
    const bot = await chat.bot(customer.contactId);
    const botSocket = await open(bot.url);
    const customerSocket = await open(customer.url);

    const agentId = emulator.agentJoins(customer.contactId, 'Alex');
    const left = await botSocket.nextItem(
      (item) => item.ContentType === EVENT.left && item.ParticipantId === bot.participantId,
    );
    expect(left.ParticipantRole).toBe('CUSTOM_BOT');
    expect((await botSocket.waitClosed()).code).toBe(1000);
    await customerSocket.nextItem(
      (item) => item.ContentType === EVENT.joined && item.ParticipantId === agentId,
    );
    expect(await rejection(chat.send(bot.token, 'too late'))).toBeInstanceOf(AccessDeniedException);

    const refused = await rejection(chat.createBot(customer.contactId, 'Bot 2'));
    expect(refused).toBeInstanceOf(ConflictException);
    expect(statusOf(refused)).toBe(409);
    expect(emulator.outcome(customer.contactId).wait).toMatchObject({
      result: 'BotParticipantDisconnected',
      reason: 'agent-joined',
    });
  });
});
