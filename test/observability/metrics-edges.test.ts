import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConnectBotError, ErrorCode } from '../../src/errors.js';
import { prepareBot } from '../../src/host/registry.js';
import { defineBot } from '../../src/index.js';
import type { ChatSession } from '../../src/session/session.js';
import { deferred } from '../support/deferred.js';
import { botMessages, chatWithBot, waitForBotMessages } from '../support/host-harness.js';
import { runningHost, scrape } from '../support/running-host.js';
import { nextEvent, waitUntil } from '../support/wait.js';

function sum(m: Map<string, number>, prefix: string): number {
  let total = 0;
  for (const [key, value] of m) if (key.startsWith(prefix)) total += value;
  return total;
}

describe('observability audit', () => {
  it('bothost_capacity_slots agrees with /readyz while a join is in flight (maxChats 1)', async () => {
    const { emulator, running } = await runningHost({ config: { host: { maxChats: 1 } } });
    // Hold the one join in flight: the client's join never settles until we say so.
    let fail!: (error: Error) => void;
    const held = new Promise<ChatSession>((_, reject) => {
      fail = reject;
    });
    const realJoin = running.client.join.bind(running.client);
    running.client.join = () => held;
    const joining = running.host.join({
      instanceId: emulator.instanceId,
      contactId: 'c-in-flight',
      bot: 'echo',
    });
    joining.catch(() => {});
    expect(running.host.atCapacity).toBe(true);
    const readyz = await fetch(`${running.metricsUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
    expect(readyz.status).toBe(503);
    expect(await readyz.text()).toBe('at capacity\n');
    // A second join is refused for capacity ...
    await expect(
      running.host.join({ instanceId: emulator.instanceId, contactId: 'c-other', bot: 'echo' }),
    ).rejects.toMatchObject({ code: ErrorCode.NotAccepting });
    // ... yet the gauge says the host can still accept one chat.
    const m = await scrape(running.metricsUrl!);
    try {
      expect(m.get('bothost_capacity_slots')).toBe(0);
    } finally {
      fail(new ConnectBotError(ErrorCode.Network, 'released by the test'));
      await joining.catch(() => {});
      running.client.join = realJoin;
    }
  });

  it('bothost_messages_sent_total counts messages, not attempts (a 429 then ok is one message)', async () => {
    const { emulator, running } = await runningHost({ config: { quotas: { throttlePauseMs: 100 } } });
    const chat = await chatWithBot({ emulator }, { bot: 'echo' });
    await waitForBotMessages(emulator, chat.contactId, 1);
    emulator.faults.failNext('SendMessage', { count: 1, status: 429 });
    emulator.say(chat.contactId, 'hello');
    await waitForBotMessages(emulator, chat.contactId, 2);
    const m = await scrape(running.metricsUrl!);
    // Two messages sent by the bot (greeting, echo); every SendMessage attempt is already in
    // bothost_connect_api_requests_total{operation="SendMessage"}.
    expect(botMessages(emulator, chat.contactId)).toHaveLength(2);
    expect(m.get('bothost_connect_api_requests_total{operation="SendMessage",outcome="throttled"}')).toBe(1);
    expect(sum(m, 'bothost_messages_sent_total{')).toBe(2);
  });

  it("the session's own lines (reconnect) carry contactId and participantId, as the README says", async () => {
    const { emulator, running, logs } = await runningHost();
    const chat = await chatWithBot({ emulator }, { bot: 'echo' });
    await waitForBotMessages(emulator, chat.contactId, 1);
    const session = running.host.chats.get(chat.contactId)!.session;
    emulator.faults.dropSockets({ contactId: chat.contactId, role: 'CUSTOM_BOT' }, 'clean');
    await nextEvent(session, 'state', (state) => state === 'open');
    const reconnect = logs.events().find((line) => line.event === 'reconnect');
    expect(reconnect).toMatchObject({ contactId: chat.contactId, participantId: session.participantId });
    // The host's own line about the chat too.
    const joined = logs.events().find((line) => line.event === 'join' && line.msg === 'bot joined');
    expect(joined).toMatchObject({
      contactId: chat.contactId,
      participantId: session.participantId,
      bot: 'echo',
    });
  });

  it('bothost_handlers_running counts a handler abandoned after its timeout until it returns', async () => {
    const { emulator, running } = await runningHost({
      config: { handlers: { timeoutMs: 200 }, bots: { default: 'echo' } },
    });
    const release = deferred<void>();
    const stuck = prepareBot(
      defineBot({
        name: 'echo',
        displayName: 'Stuck',
        setup(bot) {
          bot.hears('stuck', () => release.promise);
        },
      }),
    );
    (running.host.bots as Map<string, typeof stuck>).set('echo', stuck);
    const chat = await chatWithBot({ emulator }, { bot: 'echo' });
    emulator.say(chat.contactId, 'stuck');
    await waitUntil(async () => {
      const m = await scrape(running.metricsUrl!);
      return m.get('bothost_handler_timeouts_total{bot="echo"}') === 1;
    }, 'the handler timeout');
    // The slot is free (the queue moved on), yet the handler is still running.
    expect(running.host.slots.inUse).toBe(0);
    expect((await scrape(running.metricsUrl!)).get('bothost_handlers_running')).toBe(1);
    release.resolve(undefined);
    await waitUntil(() => running.host.handlersRunning === 0, 'the abandoned handler to return');
    expect((await scrape(running.metricsUrl!)).get('bothost_handlers_running')).toBe(0);
  });
});

describe('the metrics and health server over HTTP', () => {
  it('405 with Allow for another method on its paths, 404 elsewhere, and absolute-form targets', async () => {
    const { running } = await runningHost();
    const call = (path: string, method = 'GET') =>
      fetch(`${running.metricsUrl}${path}`, { method, signal: AbortSignal.timeout(5000) });
    for (const path of ['/metrics', '/livez', '/readyz']) {
      const response = await call(path, 'POST');
      expect({ status: response.status, allow: response.headers.get('allow') }, path).toEqual({
        status: 405,
        allow: 'GET, HEAD',
      });
    }
    expect((await call('/nope', 'POST')).status).toBe(404);
    // RFC 9112 §3.2.2: a server accepts a target in absolute form.
    const { port } = new URL(running.metricsUrl!);
    const line = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
      socket.on('error', reject);
      socket.once('data', (chunk) => {
        resolve(chunk.toString('latin1').split('\r\n')[0]!);
        socket.destroy();
      });
      socket.write(
        `GET http://127.0.0.1:${port}/livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      );
    });
    expect(line).toBe('HTTP/1.1 200 OK');
  });
});
