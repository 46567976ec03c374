import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConnectBotError, ErrorCode, type ErrorCode as ErrorCodeValue } from '../../src/errors.js';
import type { BotHost } from '../../src/host/host.js';
import { defineBot, JoinServer } from '../../src/index.js';
import { hostSetup, postJoin, SECRET } from '../support/host-harness.js';

const echo = defineBot({
  name: 'echo',
  displayName: 'Echo',
  setup: (bot) => void bot.on('message', (ctx) => ctx.reply(ctx.text)),
});

const post = postJoin;

/** Answers of a join endpoint whose host's join throws each given value in turn. */
async function answersFor(thrown: unknown[]) {
  let next = 0;
  const host = {
    join: async () => {
      throw thrown[next++];
    },
  } as unknown as BotHost;
  const server = new JoinServer(host, { port: 0, secret: SECRET });
  const url = await server.listen();
  try {
    const answers = [];
    for (const _ of thrown) {
      answers.push(await post(url, JSON.stringify({ instanceId: 'i-1', contactId: 'c-1' })));
    }
    return answers;
  } finally {
    await server.close();
  }
}

describe('POST /join', () => {
  it('accepts the flow-Lambda event unchanged and the short form', async () => {
    const setup = await hostSetup({ bots: [echo] });
    const { emulator, joinUrl } = setup;
    setup.emulator.setFlow(undefined);
    const a = emulator.startChat({ attributes: { lang: 'en' } });
    const event = {
      Name: 'ContactFlowEvent',
      Details: {
        ContactData: {
          ContactId: a.contactId,
          InitialContactId: a.contactId,
          Channel: 'CHAT',
          InstanceARN: `arn:aws:connect:us-east-1:123456789012:instance/${emulator.instanceId}`,
          Attributes: { lang: 'en' },
        },
        Parameters: { bot: 'echo' },
      },
    };
    const first = await post(joinUrl, JSON.stringify(event));
    expect(first).toMatchObject({ status: 200, body: { status: 'success', bot: 'echo', reused: false } });
    expect(first.body.participantId).toBe(
      emulator.contact(a.contactId).participants.find((p) => p.role === 'CUSTOM_BOT')?.participantId,
    );
    // A repeat (a retried Lambda) returns the live participant.
    const again = await post(joinUrl, JSON.stringify(event));
    expect(again.body).toMatchObject({ participantId: first.body.participantId, reused: true });

    const b = emulator.startChat();
    const short = await post(
      joinUrl,
      JSON.stringify({ instanceId: emulator.instanceId, contactId: b.contactId }),
    );
    expect(short.body).toMatchObject({ status: 'success', bot: 'echo' });
  });

  it('refuses unauthenticated, malformed, oversized and unknown-bot joins with coded 4xx, joining nothing', async () => {
    const setup = await hostSetup({ bots: [echo] });
    const { emulator, joinUrl, host } = setup;
    setup.emulator.setFlow(undefined);
    const chat = emulator.startChat();
    const valid = JSON.stringify({ instanceId: emulator.instanceId, contactId: chat.contactId });
    const cases: Array<[string, Promise<{ status: number; body: Record<string, unknown> }>, number, string]> =
      [
        ['no secret', post(joinUrl, valid, {}), 401, 'CB_UNAUTHORIZED'],
        ['wrong secret', post(joinUrl, valid, { authorization: 'Bearer nope' }), 401, 'CB_UNAUTHORIZED'],
        ['not JSON', post(joinUrl, '{"instanceId":'), 400, 'CB_BAD_JOIN_REQUEST'],
        [
          'missing contactId',
          post(joinUrl, JSON.stringify({ instanceId: emulator.instanceId })),
          400,
          'CB_BAD_JOIN_REQUEST',
        ],
        [
          'bad flow event',
          post(
            joinUrl,
            JSON.stringify({ Details: { ContactData: { ContactId: 'x', InstanceARN: 'nope' } } }),
          ),
          400,
          'CB_BAD_JOIN_REQUEST',
        ],
        [
          'oversized',
          post(joinUrl, JSON.stringify({ padding: 'x'.repeat(70_000) })),
          413,
          'CB_PAYLOAD_TOO_LARGE',
        ],
        [
          'unknown bot',
          post(
            joinUrl,
            JSON.stringify({ instanceId: emulator.instanceId, contactId: chat.contactId, bot: 'nobody' }),
          ),
          400,
          'CB_UNKNOWN_BOT',
        ],
      ];
    for (const [name, call, status, code] of cases) {
      const result = await call;
      expect({ name, status: result.status, code: result.body.code, status_: result.body.status }).toEqual({
        name,
        status,
        code,
        status_: 'error',
      });
    }
    expect(host.chats.size).toBe(0);
    expect(emulator.calls.count('CreateParticipant')).toBe(0);
    expect(emulator.contact(chat.contactId).participants.map((p) => p.role)).toEqual(['CUSTOMER']);

    const wrongMethod = await fetch(joinUrl, { method: 'GET' });
    expect(wrongMethod.status).toBe(405);
    const wrongPath = await fetch(joinUrl.replace('/join', '/other'), { method: 'POST' });
    expect(wrongPath.status).toBe(404);
  });

  it('answers 503 while draining and 502 when the Connect API keeps failing', async () => {
    const setup = await hostSetup({ bots: [echo] });
    const { emulator, joinUrl, host } = setup;
    setup.emulator.setFlow(undefined);
    const chat = emulator.startChat();
    // Every attempt answered 500: an upstream failure, worth a retry.
    emulator.faults.failNext('CreateParticipant', { count: 10, status: 500 });
    const refused = await post(
      joinUrl,
      JSON.stringify({ instanceId: emulator.instanceId, contactId: chat.contactId }),
    );
    expect(refused).toMatchObject({ status: 502, body: { code: 'CB_API_REFUSED' } });
    emulator.faults.clear();
    await host.stop();
    const other = emulator.startChat();
    const draining = await post(
      joinUrl,
      JSON.stringify({ instanceId: emulator.instanceId, contactId: other.contactId }),
    );
    expect(draining).toMatchObject({ status: 503, body: { code: 'CB_NOT_ACCEPTING' } });
  });

  it('answers 502 CB_SUBSCRIBE_FAILED when the websocket never acknowledges aws/subscribe', async () => {
    const setup = await hostSetup({
      bots: [echo],
      client: { timings: { subscribeAckTimeoutMs: 50, subscribeResends: 1 } },
    });
    setup.emulator.setFlow(undefined);
    const chat = setup.emulator.startChat();
    setup.emulator.faults.subscribeAcks(undefined, { drop: 1000 });
    const answer = await post(
      setup.joinUrl,
      JSON.stringify({ instanceId: setup.emulator.instanceId, contactId: chat.contactId }),
    );
    expect(answer).toMatchObject({ status: 502, body: { status: 'error', code: 'CB_SUBSCRIBE_FAILED' } });
  });

  it('answers 409 CB_CHAT_ENDED when the chat ends while the bot is joining', async () => {
    const setup = await hostSetup({ bots: [echo] });
    setup.emulator.setFlow(undefined);
    const chat = setup.emulator.startChat();
    // The join's first back-fill gets a 500 (retried); the customer leaves at that moment.
    setup.emulator.faults.failNext('GetTranscript', { count: 1, status: 500 });
    const onCall = (call: { operation: string; outcome: string }) => {
      if (call.operation !== 'GetTranscript' || call.outcome !== 'refused') return;
      setup.client.off('apiCall', onCall);
      setup.emulator.endChat(chat.contactId, 'customer');
    };
    setup.client.on('apiCall', onCall);
    const answer = await post(
      setup.joinUrl,
      JSON.stringify({ instanceId: setup.emulator.instanceId, contactId: chat.contactId }),
    );
    expect(answer).toMatchObject({ status: 409, body: { status: 'error', code: 'CB_CHAT_ENDED' } });
  });

  it('answers 502 for socket, subscribe, expiry and unmapped coded failures, 500 only for an uncoded throw', async () => {
    const codes: ErrorCodeValue[] = [
      ErrorCode.SocketFailed,
      ErrorCode.SubscribeFailed,
      ErrorCode.InvalidExpiry,
      ErrorCode.CursorUnknown,
      ErrorCode.SessionEnded,
    ];
    const answers = await answersFor([
      ...codes.map((code) => new ConnectBotError(code, 'it failed')),
      new TypeError('x is undefined'),
    ]);
    expect(answers.map(({ status, body }) => [status, body.status, body.code])).toEqual([
      [502, 'error', 'CB_SOCKET_FAILED'],
      [502, 'error', 'CB_SUBSCRIBE_FAILED'],
      [502, 'error', 'CB_INVALID_EXPIRY'],
      [502, 'error', 'CB_CURSOR_UNKNOWN'],
      [503, 'error', 'CB_SESSION_ENDED'],
      [500, 'error', 'CB_INTERNAL'],
    ]);
    expect(answers[5]?.body.message).not.toContain('x is undefined');
  });

  it('keeps websocket URLs and tokens out of the error message', async () => {
    const [answer] = await answersFor([
      new ConnectBotError(
        ErrorCode.SocketFailed,
        'could not open wss://edge.example.com/connect?AuthToken=TOKEN-1 (Bearer TOKEN-2, x-amz-bearer: TOKEN-3)',
      ),
    ]);
    expect(answer?.status).toBe(502);
    const message = String(answer?.body.message);
    expect(message).toContain('could not open');
    for (const leak of ['TOKEN-1', 'TOKEN-2', 'TOKEN-3', 'wss://', 'edge.example.com']) {
      expect(message).not.toContain(leak);
    }
  });

  it('answers 408 and closes a request whose body never finishes, after requestTimeoutMs', async () => {
    const host = { join: async () => ({}) } as unknown as BotHost;
    const server = new JoinServer(host, { port: 0, secret: SECRET, requestTimeoutMs: 300 });
    const url = new URL(await server.listen());
    const socket = connect(Number(url.port), url.hostname);
    try {
      const answer = new Promise<string>((resolve, reject) => {
        let received = '';
        socket.on('data', (chunk) => {
          received += chunk.toString();
        });
        socket.on('close', () => resolve(received));
        socket.on('error', reject);
      });
      socket.write(
        `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${SECRET}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"instanceId":',
      );
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const text = await Promise.race([
        answer,
        new Promise<string>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer in 5 s')), 5000);
        }),
      ]).finally(() => clearTimeout(timer));
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(performance.now() - started).toBeLessThan(3000);
    } finally {
      socket.destroy();
      await server.close();
    }
  });

  it('keeps an idle keep-alive connection past the request timeout and the old 5 s (a load balancer reuses it)', async () => {
    const host = { join: async () => ({}) } as unknown as BotHost;
    const request = (path: string) =>
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`; // 405, kept alive
    /** A connection that got one answer; resolves with 'closed' or, after `idleMs`, the next answer's status line. */
    const idle = async (server: JoinServer, idleMs: number) => {
      const url = new URL(await server.listen());
      const socket = connect(Number(url.port), url.hostname);
      const answers: string[] = [];
      let wake: () => void = () => {};
      socket.on('data', (chunk) => {
        answers.push(chunk.toString().split('\r\n')[0]!);
        wake();
      });
      const closed = new Promise<'closed'>((resolve) => socket.once('close', () => resolve('closed')));
      socket.write(request(url.pathname));
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      // An absence cannot be awaited: the connection must still be there after `idleMs`.
      const outcome = await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, idleMs))]);
      if (outcome === 'closed') return 'closed';
      const next = new Promise<void>((resolve) => {
        wake = resolve;
      });
      socket.write(request(url.pathname));
      await Promise.race([next, closed]);
      socket.destroy();
      return answers[1] ?? 'closed';
    };
    const lasting = new JoinServer(host, { port: 0, secret: SECRET, requestTimeoutMs: 500 });
    try {
      expect(await idle(lasting, 6000)).toMatch(/^HTTP\/1\.1 405 /);
    } finally {
      await lasting.close();
    }
    const short = new JoinServer(host, { port: 0, secret: SECRET, keepAliveTimeoutMs: 200 });
    try {
      expect(await idle(short, 3000)).toBe('closed');
    } finally {
      await short.close();
    }
  });
});
