import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { BotHost } from '../../src/host/host.js';
import { defineBot, JoinServer, TokenBucketLimiter } from '../../src/index.js';
import { hostSetup, postJoin as post, SECRET } from '../support/host-harness.js';
import { runningHost } from '../support/running-host.js';
import { nextEvent, waitUntil } from '../support/wait.js';

const echo = defineBot({
  name: 'echo',
  displayName: 'Echo',
  setup: (bot) => void bot.on('message', (ctx) => ctx.reply(ctx.text)),
});

const other = defineBot({
  name: 'other',
  displayName: 'Other',
  setup: (bot) => void bot.on('message', (ctx) => ctx.reply(`other: ${ctx.text}`)),
});

const okHost = {
  join: async () => ({ participantId: 'p-1', contactId: 'c-1', bot: 'echo', reused: false }),
} as unknown as BotHost;

/** Writes raw bytes to a server and returns all it sends back before it closes (5 s at most). */
async function raw(url: URL, text: string): Promise<string> {
  const socket = connect(Number(url.port), url.hostname);
  try {
    return await new Promise<string>((resolve, reject) => {
      let received = '';
      const timer = setTimeout(() => resolve(received), 5000);
      socket.on('data', (chunk) => {
        received += chunk.toString();
      });
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(received);
      });
      socket.on('error', reject);
      socket.write(text);
    });
  } finally {
    socket.destroy();
  }
}

/**
 * A chat whose bot's first join needs about 400 ms (its first aws/subscribe goes unanswered, resent after
 * 400 ms) in a host that gives a join `joinTimeoutMs` (default 300: the first join is answered CB_JOIN_TIMEOUT
 * while it goes on). The flow does not post joins itself.
 */
async function slowFirstJoin(bots = [echo], joinTimeoutMs = 300) {
  const setup = await hostSetup({
    bots,
    host: { joinTimeoutMs },
    client: { timings: { subscribeAckTimeoutMs: 400 } },
  });
  setup.emulator.setFlow(undefined);
  const chat = setup.emulator.startChat();
  setup.emulator.faults.subscribeAcks(undefined, { drop: 1 });
  return {
    setup,
    ...setup,
    chat,
    base: { instanceId: setup.emulator.instanceId, contactId: chat.contactId },
  };
}

describe('join timeouts and quota waits', () => {
  it('a retry after CB_JOIN_TIMEOUT takes the join still under way over: one bot, no conflict', async () => {
    const { setup, emulator, joinUrl, chat, base: request } = await slowFirstJoin();
    expect(await post(joinUrl, request)).toMatchObject({ status: 504, body: { code: 'CB_JOIN_TIMEOUT' } });
    // The flow tries again at once.
    expect(await post(joinUrl, request)).toMatchObject({ status: 200, body: { status: 'success' } });
    expect(emulator.calls.count('CreateParticipant')).toBe(1);
    const bots = emulator.contact(chat.contactId).participants.filter((p) => p.role === 'CUSTOM_BOT');
    expect(bots.map((bot) => bot.state)).toEqual(['connected']);
    expect(setup.host.chats.has(chat.contactId)).toBe(true);
  });

  it('a join given up while it waited for a quota token leaves the queue: later joins get through, no late bots', async () => {
    const limiter = new TokenBucketLimiter({ rates: { CreateParticipant: { rate: 2, burst: 1 } } });
    const setup = await hostSetup({ bots: [echo], host: { joinTimeoutMs: 400 }, limiter });
    const { emulator, joinUrl } = setup;
    emulator.setFlow(undefined);
    const chats = [1, 2, 3, 4, 5].map(() => emulator.startChat());
    const answers = await Promise.all(
      chats.map((chat) => post(joinUrl, { instanceId: emulator.instanceId, contactId: chat.contactId })),
    );
    // 2 per second and a 400 ms timeout: the first gets through at once, the one after it may.
    expect(answers.slice(2).map((answer) => answer.status)).toEqual([504, 504, 504]);
    const late = emulator.startChat();
    await waitUntil(() => setup.host.freeSlots === setup.host.capacity - setup.host.chats.size, 'the queue');
    const lateAnswer = await post(joinUrl, { instanceId: emulator.instanceId, contactId: late.contactId });
    expect(lateAnswer.status).toBe(200);
    const timedOut = chats.filter((_, i) => answers[i]!.status === 504);
    const botsInTimedOut = timedOut.filter((chat) =>
      emulator.contact(chat.contactId).participants.some((p) => p.role === 'CUSTOM_BOT'),
    );
    expect(botsInTimedOut).toEqual([]);
  });

  it('a join waiting for a quota token at shutdown is answered 503 at once, not held for the join timeout', async () => {
    const { emulator, running } = await runningHost({
      config: {
        bots: { default: 'echo' },
        quotas: { rates: { CreateParticipant: { rate: 0.05, burst: 1 } } },
        shutdown: { drainTimeoutMs: 300, onShutdown: 'leave' },
        join: { port: 0, secret: SECRET, timeoutMs: 7000 },
      },
    });
    emulator.setFlow(undefined);
    const [a, b] = [emulator.startChat(), emulator.startChat()];
    const auth = { authorization: `Bearer ${SECRET}` };
    expect(
      (await post(running.joinUrl, { instanceId: emulator.instanceId, contactId: a.contactId }, auth)).status,
    ).toBe(200);
    // The bucket is empty: this one would wait 20 s for a token.
    const second = post(running.joinUrl, { instanceId: emulator.instanceId, contactId: b.contactId }, auth);
    await waitUntil(() => running.host.freeSlots < running.host.capacity - 1, 'the second join under way');
    const stopped = performance.now();
    await running.stop();
    const answer = await second;
    expect({ status: answer.status, code: answer.body.code }).toEqual({
      status: 503,
      code: 'CB_NOT_ACCEPTING',
    });
    expect(performance.now() - stopped).toBeLessThan(5000);
  });
});

describe('joins given up (CB_JOIN_TIMEOUT) and their retries', () => {
  it('stop() waits until a given-up join that connects meanwhile has left the chat', async () => {
    // One 429 on CreateParticipantConnection pauses its bucket 350 ms, past the 300 ms join timeout: the join is
    // given up before it has a session, and connects while stop() runs.
    const limiter = new TokenBucketLimiter({ throttlePauseMs: 350 });
    const setup = await hostSetup({
      bots: [echo],
      limiter,
      host: { joinTimeoutMs: 300, drainTimeoutMs: 50, onShutdown: 'leave' },
    });
    const { emulator, joinUrl, host } = setup;
    emulator.setFlow(undefined);
    const chat = emulator.startChat();
    emulator.faults.failNext('CreateParticipantConnection', { count: 1, status: 429 });
    expect(
      (await post(joinUrl, { instanceId: emulator.instanceId, contactId: chat.contactId })).body.code,
    ).toBe('CB_JOIN_TIMEOUT');
    await host.stop();
    // What the CLI does next is exit: the bot must be gone by now.
    const bot = emulator.contact(chat.contactId).participants.find((p) => p.role === 'CUSTOM_BOT');
    expect(bot?.state).toBe('left');
    expect(emulator.calls.count('DisconnectParticipant')).toBe(1);
  });

  it("stop() does not cut short a given-up bot's leave that waits for a quota token", async () => {
    const limiter = new TokenBucketLimiter({ rates: { DisconnectParticipant: { rate: 0.5, burst: 1 } } });
    const setup = await hostSetup({
      bots: [echo],
      limiter,
      host: { joinTimeoutMs: 300, drainTimeoutMs: 50, onShutdown: 'leave' },
      client: { timings: { subscribeAckTimeoutMs: 400 } },
    });
    const { emulator, joinUrl, host } = setup;
    emulator.setFlow(undefined);
    // Another chat's leave takes the one DisconnectParticipant token: the next waits 2 s.
    const other = emulator.startChat();
    await host.join({ instanceId: emulator.instanceId, contactId: other.contactId });
    await host.chats.get(other.contactId)!.session.disconnect();
    const chat = emulator.startChat();
    emulator.faults.subscribeAcks(undefined, { drop: 1 });
    expect(
      (await post(joinUrl, { instanceId: emulator.instanceId, contactId: chat.contactId })).body.code,
    ).toBe('CB_JOIN_TIMEOUT');
    const bot = () => emulator.contact(chat.contactId).participants.find((p) => p.role === 'CUSTOM_BOT');
    // Its session opens, and (nobody claiming it) its leave starts and waits for the token.
    await nextEvent(setup.client, 'sessionOpened', (session) => session.contactId === chat.contactId);
    await new Promise((resolve) => setImmediate(resolve));
    await host.stop();
    expect(bot()?.state).toBe('left');
  });

  it('a retry for another bot waits until the given-up bot has left, then joins', async () => {
    const { emulator, joinUrl, chat, base } = await slowFirstJoin([echo, other]);
    expect((await post(joinUrl, { ...base, bot: 'echo' })).body.code).toBe('CB_JOIN_TIMEOUT');
    // Connect allows one bot: a second CreateParticipant now would be refused (409, "do not retry").
    const retry = await post(joinUrl, { ...base, bot: 'other' });
    expect(retry).toMatchObject({ status: 200, body: { bot: 'other' } });
    const bots = emulator.contact(chat.contactId).participants.filter((p) => p.role === 'CUSTOM_BOT');
    expect(bots.map((bot) => [bot.displayName, bot.state])).toEqual([
      ['Echo', 'left'],
      ['Other', 'connected'],
    ]);
  });

  it('a retry waiting on a given-up join takes one slot for its contact, not two', async () => {
    // maxChats 2: contact A's given-up join and the retry waiting on it are one chat; B still gets in.
    const setup = await hostSetup({
      bots: [echo, other],
      host: { joinTimeoutMs: 300, maxChats: 2 },
      client: { timings: { subscribeAckTimeoutMs: 1500 } },
    });
    const { emulator, joinUrl } = setup;
    emulator.setFlow(undefined);
    const [a, b] = [emulator.startChat(), emulator.startChat()];
    emulator.faults.subscribeAcks(undefined, { drop: 1 }); // A's first join needs 1.5 s
    const joinA = { instanceId: emulator.instanceId, contactId: a.contactId };
    expect((await post(joinUrl, { ...joinA, bot: 'echo' })).body.code).toBe('CB_JOIN_TIMEOUT');
    const retry = post(joinUrl, { ...joinA, bot: 'other' }); // waits for A's given-up bot to leave
    await waitUntil(() => setup.host.freeSlots < 2, 'the retry under way');
    expect(setup.host.freeSlots).toBe(1);
    expect(await post(joinUrl, { instanceId: emulator.instanceId, contactId: b.contactId })).toMatchObject({
      status: 200,
    });
    await retry;
  });

  it('a retry that finds the given-up bot leaving waits for it, then joins (no 409 conflict)', async () => {
    const { emulator, joinUrl, chat, base } = await slowFirstJoin();
    // The unclaimed bot's DisconnectParticipant takes a few retries.
    emulator.faults.failNext('DisconnectParticipant', { count: 3, status: 500 });
    expect((await post(joinUrl, base)).body.code).toBe('CB_JOIN_TIMEOUT');
    await waitUntil(
      () => emulator.calls.count('DisconnectParticipant') > 0,
      'the given-up bot to start leaving',
    );
    const retry = await post(joinUrl, base);
    expect(retry).toMatchObject({ status: 200, body: { status: 'success' } });
    const bots = emulator.contact(chat.contactId).participants.filter((p) => p.role === 'CUSTOM_BOT');
    expect(bots.map((bot) => bot.state)).toEqual(['left', 'connected']);
  });
});

describe('join answers', () => {
  it('a refusal Connect would repeat is answered with its status, not a retryable 502', async () => {
    const setup = await hostSetup({ bots: [echo] });
    setup.emulator.setFlow(undefined);
    const chat = setup.emulator.startChat();
    setup.emulator.endChat(chat.contactId, 'customer');
    const ended = await post(setup.joinUrl, {
      instanceId: setup.emulator.instanceId,
      contactId: chat.contactId,
    });
    expect(ended).toMatchObject({
      status: 400,
      body: { code: 'CB_API_REFUSED', message: expect.stringContaining('not active') },
    });
    const missing = await post(setup.joinUrl, {
      instanceId: setup.emulator.instanceId,
      contactId: 'no-such-contact',
    });
    expect(missing).toMatchObject({ status: 404, body: { code: 'CB_API_REFUSED' } });
  });

  // An empty `bot` parameter (left blank in the flow) names no bot: the contact attribute may, else the default.
  for (const [attribute, joined] of [
    ['', 'echo'],
    ['other', 'other'],
  ] as const) {
    it(`a blank bot parameter with bot attribute "${attribute}": ${joined} joins`, async () => {
      const setup = await hostSetup({ bots: [echo, other], host: { defaultBot: 'echo' } });
      const { emulator, joinUrl } = setup;
      emulator.setFlow(undefined);
      const chat = emulator.startChat();
      const answer = await post(joinUrl, {
        Name: 'ContactFlowEvent',
        Details: {
          ContactData: {
            ContactId: chat.contactId,
            InitialContactId: chat.contactId,
            InstanceARN: `arn:aws:connect:us-east-1:123456789012:instance/${emulator.instanceId}`,
            Attributes: { bot: attribute },
          },
          Parameters: { bot: '' },
        },
      });
      expect(answer).toMatchObject({ status: 200, body: { status: 'success', bot: joined } });
    });
  }

  it('a request that never finishes is answered 408 with a coded JSON body', async () => {
    const server = new JoinServer(okHost, { port: 0, secret: SECRET, requestTimeoutMs: 300 });
    const url = new URL(await server.listen());
    try {
      const text = await raw(
        url,
        `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${SECRET}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"instanceId":',
      );
      const [head, body] = text.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 408 /);
      expect(head).toMatch(/content-type: application\/json/i);
      expect(JSON.parse(body ?? '')).toEqual({
        status: 'error',
        code: 'CB_REQUEST_TIMEOUT',
        message: 'the request did not arrive in time',
      });
    } finally {
      await server.close();
    }
  });

  it('bytes that are not HTTP after a join on the same connection do not take its answer', async () => {
    const { setup, joinUrl, chat, base } = await slowFirstJoin([echo], 6000);
    const body = JSON.stringify(base);
    const text = await raw(
      new URL(joinUrl),
      `POST /join HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${SECRET}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}NOT HTTP AT ALL\r\n\r\n`,
    );
    expect(text.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(setup.host.chats.has(chat.contactId)).toBe(true);
  });

  it('takes the Bearer scheme in any letter case, and a 401 names it', async () => {
    const server = new JoinServer(okHost, { port: 0, secret: SECRET });
    const url = await server.listen();
    try {
      const request = { instanceId: 'i-1', contactId: 'c-1' };
      expect((await post(url, request, { authorization: `bearer ${SECRET}` })).status).toBe(200);
      const refused = await post(url, request, {});
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    } finally {
      await server.close();
    }
  });

  it('close() is not held up by the keep-alive connection of a join answered after it began', async () => {
    let release = () => {};
    let entered = () => {};
    const inJoin = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const host = {
      join: () =>
        new Promise((resolve) => {
          entered();
          release = () => resolve({ participantId: 'p-1', contactId: 'c-1', bot: 'echo', reused: false });
        }),
    } as unknown as BotHost;
    const server = new JoinServer(host, { port: 0, secret: SECRET });
    const url = await server.listen();
    const answer = post(url, { instanceId: 'i-1', contactId: 'c-1' });
    await inJoin;
    const closing = server.close();
    release();
    const result = await answer;
    expect(result.status).toBe(200);
    expect(result.headers.get('connection')).toBe('close');
    const closedInTime = await Promise.race([
      closing.then(() => true),
      new Promise((resolve) => setTimeout(() => resolve(false), 2000)),
    ]);
    expect(closedInTime, 'close() still pending 2 s after the answer (keepAliveTimeout is 5 s)').toBe(true);
  });
});
