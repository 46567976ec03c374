import { describe, expect, it } from 'vitest';
import { prepareBot } from '../../src/host/registry.js';
import { defineBot } from '../../src/index.js';
import { chatWithBot, postJoin, waitForBotMessages } from '../support/host-harness.js';
import { runningHost, SECRET, scrape } from '../support/running-host.js';
import { nextEvent, waitUntil } from '../support/wait.js';

describe('metrics and health', () => {
  it('move through a join, a reconnect, a throttle and a handoff; no contactId labels', async () => {
    // The pause outlasts the caller's first retry delay (200–400 ms), so the retry is sure to wait on the bucket.
    const { emulator, running } = await runningHost({ config: { quotas: { throttlePauseMs: 1000 } } });
    const url = running.metricsUrl!;
    const before = await scrape(url);
    expect(before.get('bothost_chats_active')).toBeUndefined();
    expect(before.has('process_resident_memory_bytes')).toBe(true);
    expect(before.has('nodejs_eventloop_lag_seconds')).toBe(true);

    const chat = await chatWithBot({ emulator }, { bot: 'handoff' });
    await waitForBotMessages(emulator, chat.contactId, 1);
    let m = await scrape(url);
    expect(m.get('bothost_joins_total{result="success"}')).toBe(1);
    expect(m.get('bothost_chats_active{bot="handoff"}')).toBe(1);
    expect(m.get('bothost_ws_connections')).toBe(1);
    expect(m.get('bothost_join_duration_seconds_count')).toBe(1);
    expect(m.get('bothost_connect_api_requests_total{operation="CreateParticipant",outcome="ok"}')).toBe(1);

    const session = running.host.chats.get(chat.contactId)!.session;
    emulator.faults.dropSockets({ contactId: chat.contactId, role: 'CUSTOM_BOT' }, 'clean');
    await nextEvent(session, 'state', (state) => state === 'open');
    emulator.faults.failNext('SendMessage', { count: 1, status: 429 });
    emulator.say(chat.contactId, 'Lin');
    await waitForBotMessages(emulator, chat.contactId, 2);
    emulator.say(chat.contactId, 'need a quote for the premium plan');
    await waitUntil(() => emulator.outcome(chat.contactId).wait.status === 'done', 'the handoff');
    await waitUntil(() => running.host.chats.size === 0, 'the chat to be released');

    m = await scrape(url);
    expect(m.get('bothost_ws_reconnects_total{reason="socket-closed"}')).toBe(1);
    expect(m.get('bothost_connect_throttled_total{operation="SendMessage"}')).toBe(1);
    expect(m.get('bothost_connect_api_requests_total{operation="SendMessage",outcome="throttled"}')).toBe(1);
    expect(m.get('bothost_ratelimit_wait_seconds_count{bucket="SendMessageOrEvent"}')).toBeGreaterThanOrEqual(
      1,
    );
    expect(m.get('bothost_messages_received_total{role="CUSTOMER"}')).toBe(2);
    expect(m.get('bothost_messages_sent_total{result="ok"}')).toBe(3);
    expect(m.get('bothost_handler_duration_seconds_count{bot="handoff"}')).toBeGreaterThanOrEqual(3);
    expect(m.get('bothost_chats_active{bot="handoff"}')).toBeUndefined();
    expect(m.get('bothost_ws_connections')).toBe(0);
    expect(m.get('bothost_connect_api_requests_total{operation="DisconnectParticipant",outcome="ok"}')).toBe(
      1,
    );
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).not.toContain(chat.contactId);
  });

  it('counts handler timeouts and errors per bot', async () => {
    const { emulator, running } = await runningHost({
      config: { handlers: { timeoutMs: 200 }, bots: { default: 'echo' } },
    });
    // Swap in a misbehaving bot for this test through the public registry API.
    const flaky = prepareBot(
      defineBot({
        name: 'echo',
        displayName: 'Flaky',
        setup(bot) {
          bot.hears('slow', () => new Promise((resolve) => setTimeout(resolve, 500)));
          bot.hears('fail', () => {
            throw new Error('nope');
          });
        },
      }),
    );
    (running.host.bots as Map<string, typeof flaky>).set('echo', flaky);
    const chat = await chatWithBot({ emulator }, { bot: 'echo' });
    emulator.say(chat.contactId, 'slow');
    emulator.say(chat.contactId, 'fail');
    await waitUntil(async () => {
      const m = await scrape(running.metricsUrl!);
      return m.get('bothost_handler_errors_total{bot="echo",code="CB_HANDLER_FAILED"}') === 1 && m;
    }, 'the handler error to be counted');
    const m = await scrape(running.metricsUrl!);
    expect(m.get('bothost_handler_timeouts_total{bot="echo"}')).toBe(1);
    expect(m.get('bothost_handler_errors_total{bot="echo",code="CB_HANDLER_TIMEOUT"}')).toBe(1);
  });

  it('/livez is up, /readyz is ready, then 503 while draining', async () => {
    const slow = { slowMs: 600 };
    const { emulator, running } = await runningHost({ config: { bots: { default: 'echo' } } });
    const gated = prepareBot(
      defineBot({
        name: 'echo',
        displayName: 'Slow',
        setup(bot) {
          bot.on('message', async (ctx) => {
            await new Promise((resolve) => setTimeout(resolve, slow.slowMs));
            await ctx.reply('done');
          });
        },
      }),
    );
    (running.host.bots as Map<string, typeof gated>).set('echo', gated);
    const url = running.metricsUrl!;
    expect((await fetch(`${url}/livez`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const chat = await chatWithBot({ emulator }, { bot: 'echo' });
    emulator.say(chat.contactId, 'work');
    await waitUntil(() => running.host.slots.inUse === 1, 'the handler to start');
    const stopping = running.stop();
    const readyz = await fetch(`${url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.text()).toBe('draining\n');
    expect((await fetch(`${url}/livez`)).status).toBe(200);
    // The join endpoint answers while the host drains (a load balancer may still send one): 503, not refused.
    const late = emulator.startChat();
    const join = await postJoin(
      running.joinUrl,
      { instanceId: emulator.instanceId, contactId: late.contactId },
      { authorization: `Bearer ${SECRET}` },
    );
    expect(join).toMatchObject({ status: 503, body: { code: 'CB_NOT_ACCEPTING' } });
    await stopping;
    expect(await waitForBotMessages(emulator, chat.contactId, 1)).toEqual(['done']);
  });
});
