import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { BotHost } from '../../src/host/host.js';
import { defineBot, JoinServer } from '../../src/index.js';
import type { Logger } from '../../src/observability/log-types.js';
import { hostSetup, postJoin as post, SECRET } from '../support/host-harness.js';

const echo = defineBot({
  name: 'echo',
  displayName: 'Echo',
  setup: (bot) => void bot.on('message', (ctx) => ctx.reply(ctx.text)),
});

describe('join path: retries', () => {
  it('a retry after a 502 from CreateParticipantConnection is not refused 409 by the first, never-connected bot', async () => {
    // README "The join endpoint": 502 is for "upstream failures worth a retry" (CB_API_REFUSED for 429s and 5xx
    // after the client's retries, CB_NETWORK, ...), and 409 means "another bot or an agent is present: do not
    // retry". When CreateParticipant succeeded but CreateParticipantConnection failed, the host answers 502 but
    // leaves the CUSTOM_BOT participant it created pending in the contact (it has no ConnectionToken to leave
    // with), and the retry sends CreateParticipant with a fresh ClientToken, which Connect refuses (one custom
    // participant per contact, protocol.md §5.3 / §7): the flow's retry gets 409 "do not retry" for up to 15 s.
    // Expected: the retry joins (e.g. the same ClientToken re-used returns the pending participant, which can
    // then be connected). Before the fix: 409 CB_API_REFUSED ConflictException.
    const setup = await hostSetup({ bots: [echo] });
    const { emulator, joinUrl } = setup;
    emulator.setFlow(undefined);
    const chat = emulator.startChat();
    const request = { instanceId: emulator.instanceId, contactId: chat.contactId };
    emulator.faults.failNext('CreateParticipantConnection', { count: 10, status: 500 });
    const first = await post(joinUrl, request);
    expect(first).toMatchObject({ status: 502, body: { code: 'CB_API_REFUSED' } });
    emulator.faults.clear();
    const retry = await post(joinUrl, request);
    expect(retry).toMatchObject({ status: 200, body: { status: 'success' } });
  });
});

describe('join path: bot selection', () => {
  it('a join naming an unknown bot is CB_UNKNOWN_BOT even when the contact already has a live bot', async () => {
    // README: "An unknown bot is a coded join error (CB_UNKNOWN_BOT)", answered 400. BotHost.admit returns the
    // live chat before selectBot runs, so a request naming a bot that does not exist gets 200 success,
    // reused: true (with another bot's name). Expected 400 CB_UNKNOWN_BOT; before the fix 200.
    const setup = await hostSetup({ bots: [echo] });
    const { emulator, joinUrl } = setup;
    emulator.setFlow(undefined);
    const chat = emulator.startChat();
    const request = { instanceId: emulator.instanceId, contactId: chat.contactId };
    expect(await post(joinUrl, request)).toMatchObject({ status: 200 });
    const typo = await post(joinUrl, { ...request, bot: 'nobody' });
    expect(typo).toMatchObject({ status: 400, body: { code: 'CB_UNKNOWN_BOT' } });
  });
});

describe('join path: HTTP answers and logs', () => {
  const okHost = {
    join: async () => ({ participantId: 'p-1', contactId: 'c-1', bot: 'echo', reused: false }),
  } as unknown as BotHost;

  it('the 401 message is not mangled by the token scrubber', async () => {
    // join-server.ts throws 'missing or wrong bearer secret'; errorAnswer runs scrubText over every message, and
    // its /(Bearer\s+)\S+/i rule rewrites it to 'missing or wrong bearer [redacted]', which tells the operator
    // something secret was in it. Expected the plain message; before the fix '... bearer [redacted]'.
    const server = new JoinServer(okHost, { port: 0, secret: SECRET });
    const url = await server.listen();
    try {
      const answer = await post(url, { instanceId: 'i', contactId: 'c' }, { authorization: 'Bearer wrong' });
      expect(answer.status).toBe(401);
      expect(answer.body.message).not.toContain('[redacted]');
    } finally {
      await server.close();
    }
  });

  it('a body that does not arrive in time (408) is not logged as a failed join (a host-side 500)', async () => {
    // README: 408 CB_REQUEST_TIMEOUT for "headers and body not all in within join.requestTimeoutMs" — a client
    // problem. The 408 is written by answerClientErrors, then the handler's readBody throws ECONNRESET, which
    // errorAnswer maps to 500 CB_INTERNAL, so JoinServer logs warn `join-request-failed` ("join failed") with an
    // uncoded error for every slow or vanished client. Expected: no join-request-failed warning; before the fix: one.
    const warnings: object[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn: (obj) => void warnings.push(obj),
      error() {},
      child: () => logger,
    };
    const server = new JoinServer(okHost, { port: 0, secret: SECRET, requestTimeoutMs: 300, logger });
    const url = new URL(await server.listen());
    const socket = connect(Number(url.port), url.hostname);
    try {
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
      });
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.write(
        `POST /join HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${SECRET}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"instanceId":',
      );
      await closed;
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      // The handler's catch runs on the reset that follows: a full round trip on another connection comes after.
      expect((await post(url.href, {}, {})).status).toBe(401);
      expect(warnings.filter((w) => (w as { event?: string }).event === 'join-request-failed')).toEqual([]);
    } finally {
      socket.destroy();
      await server.close();
    }
  });
});
