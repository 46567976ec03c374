import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { chatKit } from '../support/chat.js';
import { waitUntil } from '../support/wait.js';
import { TestSocket } from '../support/ws-client.js';

// The benchmark's inbound load: customer messages round-robin across active contacts, bounded in count and time.

let emulator: Emulator;
const sockets: TestSocket[] = [];

beforeEach(async () => {
  emulator = await startEmulator({ timings: { endedSocketGraceMs: 100 } });
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await emulator.close();
});

async function control(method: 'GET' | 'POST', path: string, body?: unknown) {
  const response = await fetch(`${emulator.endpoint}/_emulator/${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('load', () => {
  it('posts the planned count round-robin across active contacts with a send timestamp', async () => {
    const chat = chatKit(emulator);
    const bots = [];
    for (let i = 0; i < 3; i++) {
      const customer = await chat.customer();
      const bot = await chat.bot(customer.contactId);
      const socket = await TestSocket.subscribed(bot.url);
      sockets.push(socket);
      bots.push({ contactId: customer.contactId, socket });
    }
    emulator.endChat(emulator.startChat().contactId); // ended contacts get nothing

    const started = await control('POST', 'load', { ratePerSecond: 300, durationMs: 100 });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ running: true, planned: 30, contacts: 3 });
    expect((await control('POST', 'load', { ratePerSecond: 1, durationMs: 1 })).status).toBe(409);

    await waitUntil(async () => (await control('GET', 'load')).body.running === false, 'the run to end');
    expect((await control('GET', 'load')).body).toMatchObject({ planned: 30, sent: 30, skipped: 0 });

    const before = performance.timeOrigin + performance.now();
    for (const { contactId, socket } of bots) {
      await waitUntil(
        () => socket.items().filter((item) => String(item.Content).startsWith('load ')).length === 10,
        'ten load messages per contact',
      );
      const loads = socket.items().filter((item) => String(item.Content).startsWith('load '));
      for (const item of loads) {
        expect(item).toMatchObject({ Type: 'MESSAGE', ParticipantRole: 'CUSTOMER', ContactId: contactId });
        const [, seq, sentAt] = String(item.Content).split(' ');
        expect(Number(seq) % 3).toBe(Number(loads[0]!.Content!.toString().split(' ')[1]) % 3);
        expect(Number(sentAt)).toBeGreaterThan(before - 10_000);
        expect(Number(sentAt)).toBeLessThanOrEqual(performance.timeOrigin + performance.now());
      }
      // Stored in the transcript like any customer message.
      expect(emulator.transcript(contactId).filter((i) => i.Content?.startsWith('load ')).length).toBe(10);
    }
  });

  it('skips contacts that end during the run and can be stopped early', async () => {
    const a = emulator.startChat();
    const b = emulator.startChat();
    const status = emulator.load.start({ ratePerSecond: 1000, durationMs: 60_000 });
    expect(status).toMatchObject({ running: true, planned: 60_000, contacts: 2 });
    emulator.endChat(b.contactId);
    await waitUntil(() => emulator.load.status().sent >= 20, 'some messages');
    const stopped = await control('POST', 'load/stop');
    expect(stopped.body.running).toBe(false);
    const final = emulator.load.status();
    expect(final.skipped).toBeGreaterThan(0);
    expect(final.sent + final.skipped).toBeLessThan(60_000);
    const sent = emulator.transcript(a.contactId).filter((i) => i.Content?.startsWith('load ')).length;
    expect(sent).toBe(final.sent);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(emulator.load.status().sent).toBe(final.sent); // nothing after stop
  });

  it('rejects unbounded or empty runs', async () => {
    expect((await control('POST', 'load', { ratePerSecond: 1000, durationMs: 10 })).status).toBe(400); // no contacts
    emulator.startChat();
    expect((await control('POST', 'load', { ratePerSecond: 1e9, durationMs: 10 })).status).toBe(400);
    expect((await control('POST', 'load', { ratePerSecond: 10, durationMs: 3_600_000 })).status).toBe(400);
    expect((await control('POST', 'load', { ratePerSecond: 10 })).status).toBe(400);
    expect(() => emulator.load.start({ ratePerSecond: 0, durationMs: 10 })).toThrow(/ratePerSecond/);
  });
});
