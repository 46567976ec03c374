import { describe, expect, it } from 'vitest';
import { createLogger, REDACTED, scrub, scrubText } from '../../src/observability/logger.js';
import { chatWithBot, waitForBotMessages } from '../support/host-harness.js';
import { LogCapture, runningHost, SECRET } from '../support/running-host.js';
import { nextEvent, waitUntil } from '../support/wait.js';

describe('log redaction', () => {
  it('scrubs tokens, bearer headers and websocket URLs, inside errors too', () => {
    const sdkError = Object.assign(new Error('AccessDeniedException'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 403 },
      $response: { headers: { 'x-amz-bearer': 'SECRET-1' } },
      config: { ConnectionToken: 'SECRET-2' },
    });
    const wrapped = new Error('socket failed for ws://127.0.0.1:1234/ws?AuthToken=SECRET-3', {
      cause: sdkError,
    });
    const out = JSON.stringify(
      scrub({
        err: wrapped,
        participantToken: 'SECRET-4',
        nested: { headers: { 'X-Amz-Bearer': 'SECRET-5', authorization: 'Bearer SECRET-6' } },
        url: 'wss://x.transport.connect.us-east-1.amazonaws.com/?AuthToken=SECRET-7',
        text: 'header x-amz-bearer: SECRET-8 and Bearer SECRET-9',
      }),
    );
    for (let i = 1; i <= 9; i++) expect(out).not.toContain(`SECRET-${i}`);
    expect(out).toContain(REDACTED);
    expect(out).toContain('AccessDeniedException');
    expect(scrubText('see wss://h/p?AuthToken=abc&x=1 now')).toBe(`see ${REDACTED} now`);
    expect(scrubText('opening ws://127.0.0.1:9/ws?AuthToken=abc')).toBe(`opening ${REDACTED}`);
  });

  it("is done by the logger itself: an error's message standing in for msg, a child's bindings, any Bearer", () => {
    const logs = new LogCapture();
    const log = createLogger({ level: 'trace', destination: logs, pretty: false });
    const url = 'wss://gw.example/connect?AuthToken=SECRET-1';
    log.warn({ err: new Error(`socket to ${url} failed`) }); // no message: pino would use the error's
    log.error(new Error(`reconnect to ${url} failed`));
    log.child({ participantToken: 'SECRET-2' }).child({ url }).info({ event: 'x' }, 'bound');
    log.info(`authorization: bearer SECRET-3 and Bearer abc!SECRET-4#0123`);
    expect(logs.lines).toHaveLength(4);
    expect(logs.text).not.toMatch(/SECRET-\d/);
    expect(logs.events()[0]).toMatchObject({ msg: `socket to ${REDACTED} failed` });
  });

  it('a full run through joins, reconnects, rotations, refreshes, errors and handoffs logs no token or websocket URL', async () => {
    const { emulator, running, logs } = await runningHost({
      emulator: { timings: { connectionExpiryMs: 2000, connectionTokenTtlMs: 900 } },
      config: {
        session: {
          rotationMarginMs: 400,
          tokenRefreshMarginMs: 500,
          rotationFloorMs: 100,
          tokenRefreshFloorMs: 100,
          reconnectMinDelayMs: 50,
          reconnectMaxDelayMs: 300,
        },
      },
    });
    const setup = { emulator };
    const chat = await chatWithBot(setup, { bot: 'handoff' });
    const session = running.host.chats.get(chat.contactId)!.session;
    await waitForBotMessages(emulator, chat.contactId, 1);
    await Promise.all([nextEvent(session, 'rotated'), nextEvent(session, 'tokenRefreshed')]);
    emulator.faults.dropSockets({ contactId: chat.contactId, role: 'CUSTOM_BOT' }, 'abrupt');
    await nextEvent(session, 'reconnecting');
    await nextEvent(session, 'state', (state) => state === 'open');
    emulator.say(chat.contactId, 'Grace');
    await waitForBotMessages(emulator, chat.contactId, 2);
    emulator.say(chat.contactId, 'my payment failed');
    await waitUntil(() => emulator.outcome(chat.contactId).wait.status === 'done', 'the handoff');

    // A second chat that ends badly: the socket misses chat.ended and every call gets 403.
    const other = await chatWithBot(setup, { bot: 'faq' });
    const otherSession = running.host.chats.get(other.contactId)!.session;
    emulator.faults.stopHeartbeats({ contactId: other.contactId, role: 'CUSTOM_BOT' }, { dropPushes: true });
    emulator.endChat(other.contactId, 'system');
    await nextEvent(otherSession, 'ended');
    // A refused join.
    await fetch(running.joinUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET}` },
      body: JSON.stringify({ instanceId: emulator.instanceId, contactId: 'no-such-contact', bot: 'echo' }),
    });

    const text = logs.text;
    const events = new Set(logs.events().map((line) => line.event));
    for (const event of [
      'start',
      'join',
      'rotate',
      'refresh',
      'reconnect',
      'handoff',
      'end',
      'item',
      'join-failed',
    ]) {
      expect(events, `log event ${event}`).toContain(event);
    }
    const secrets = emulator.secrets();
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of [...secrets, SECRET]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/AuthToken=(?!\[redacted\])/);
    expect(text).not.toMatch(/wss?:\/\//);
    // Per-chat lines are bound to the chat.
    const join = logs.events().find((line) => line.event === 'join' && line.participantId);
    expect(join).toMatchObject({ contactId: expect.any(String), participantId: expect.any(String) });
    const handoff = logs.events().find((line) => line.event === 'handoff');
    expect(handoff).toMatchObject({ contactId: chat.contactId, bot: 'handoff' });
  }, 30_000);
});
