import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { interleaved } from '../../bench/lib/paired.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { waitUntil } from '../support/wait.js';
import { TestSocket } from '../support/ws-client.js';

let emulator: Emulator;
const sockets: TestSocket[] = [];

beforeEach(async () => {
  emulator = await startEmulator({ timings: { waitTimeoutMs: 60_000, idleSocketTimeoutMs: 60_000 } });
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await emulator.close();
});

// The emulator's load goes round the chats in the order they started: interleaved sides each get every other
// message (halves took turns, each at twice the rate, for N / (2 × rate) seconds).
describe('paired load windows', () => {
  it('give each side its own rate throughout the window, not alternating bursts at twice the rate', async () => {
    const n = 100; // chats per side
    const ratePerSide = 500;
    const contactIds = Array.from(
      { length: 2 * n },
      () => emulator.startChat({ displayName: 'Customer' }).contactId,
    );
    const side = new Map<string, 'ours' | 'floor'>();
    const [ours, floor] = interleaved(contactIds);
    for (const id of ours) side.set(id, 'ours');
    for (const id of floor) side.set(id, 'floor');
    const arrivals: Array<{ side: 'ours' | 'floor'; seq: number; at: number }> = [];
    await Promise.all(
      contactIds.map(async (contactId) => {
        const bot = emulator.state.createParticipant({ contactId, displayName: 'Bench' });
        const url = emulator.state.createConnection(bot.participantToken, {
          websocket: true,
          credentials: true,
          connectParticipant: true,
        }).Websocket!.Url;
        const socket = await TestSocket.subscribed(url);
        sockets.push(socket);
        socket.ws.on('message', (data) => {
          const frame = JSON.parse(data.toString()) as { topic?: string; content?: string };
          if (frame.topic !== 'aws/chat') return;
          const item = JSON.parse(frame.content!) as { Content?: string };
          if (!item.Content?.startsWith('load ')) return;
          arrivals.push({
            side: side.get(contactId)!,
            seq: Number(item.Content.split(' ')[1]),
            at: performance.now(),
          });
        });
      }),
    );

    const durationMs = 1000;
    const response = await fetch(`${emulator.endpoint}/_emulator/load`, {
      method: 'POST',
      body: JSON.stringify({ ratePerSecond: 2 * ratePerSide, durationMs, tickMs: 5 }),
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(200);
    const planned = (2 * ratePerSide * durationMs) / 1000;
    await waitUntil(() => arrivals.length >= planned, `${planned} load messages`, 15_000);

    const firstBlock = arrivals.filter((a) => a.seq < n);
    const floorShare = firstBlock.filter((a) => a.side === 'floor').length / firstBlock.length;
    expect(floorShare, `the floor's share of the first ${n} messages`).toBeGreaterThan(0.4);
    expect(floorShare).toBeLessThan(0.6);
  }, 30_000);
});
