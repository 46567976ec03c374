import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/emulator/clock.js';
import type { ChatSession } from '../../src/index.js';
import { dropAndReopen, handOver, joinedChat, setup } from '../support/harness.js';
import { seededRandom } from '../support/random.js';
import { waitUntil } from '../support/wait.js';

/**
 * Random sequences of the emulator's push faults, reconnects and hand-overs, on a clock coarse enough that items
 * often share a millisecond: every message said is delivered exactly once across all the sessions that held the
 * chat.
 */
describe('exactly once across reorders, losses, reconnects and handovers', () => {
  for (const [seed, grain] of [
    [1, 1],
    [2, 1],
    [3, 1],
    [4, 30],
    [5, 30],
    [6, 30],
    [7, 60],
    [8, 60],
    [9, 1],
    [10, 30],
  ] as const) {
    it(`seed ${seed}, clock grain ${grain} ms`, async () => {
      const r = seededRandom(seed);
      // A coarse clock: items of one step often share a millisecond.
      const clock = { ...systemClock, now: () => Math.floor(Date.now() / grain) * grain };
      const { emulator, client } = await setup({ emulator: { clock } });
      const joined = await joinedChat(emulator, client);
      const contactId = joined.chat.contactId;
      let session: ChatSession = joined.session;
      const recorders = [joined.recorder];
      const bot = () => ({ contactId, role: 'CUSTOM_BOT' }) as const;
      const said: string[] = [];
      const delivered = () => recorders.flatMap((rec) => rec.customerMessages());
      let n = 0;
      const say = (count: number) => {
        for (let i = 0; i < count; i++) {
          const text = `m${++n}`;
          said.push(text);
          emulator.say(contactId, text);
        }
      };
      /** Waits until all that was said but `missing` arrived: the lost push (and one held back) stay behind. */
      const arrived = (missing: number) =>
        waitUntil(() => delivered().length >= said.length - missing, 'the pushes that were not lost', 5000);
      const log: string[] = [];
      for (let step = 0; step < 25; step++) {
        const roll = r();
        if (roll < 0.25) {
          log.push('reorder');
          emulator.faults.pushes(bot(), { reorder: 1 });
          say(2 + Math.floor(r() * 2));
        } else if (roll < 0.4) {
          log.push('lose+reconnect');
          emulator.faults.pushes(bot(), { lose: 1 });
          say(1 + Math.floor(r() * 3));
          await arrived(1);
          await dropAndReopen(emulator, session);
        } else if (roll < 0.5) {
          log.push('lose+handover');
          emulator.faults.pushes(bot(), { lose: 1 });
          say(1 + Math.floor(r() * 5));
          await arrived(1);
          const { resumed, recorder } = await handOver(client, session);
          session = resumed;
          recorders.push(recorder);
        } else if (roll < 0.55) {
          log.push('reorder+lose+reconnect');
          emulator.faults.pushes(bot(), { reorder: 1, lose: 1 });
          say(3 + Math.floor(r() * 3));
          await arrived(2);
          await dropAndReopen(emulator, session);
        } else if (roll < 0.6) {
          log.push('duplicate');
          emulator.faults.pushes(bot(), { duplicate: 1 });
          say(1 + Math.floor(r() * 2));
        } else if (roll < 0.75) {
          log.push('handover');
          const { resumed, recorder } = await handOver(client, session);
          session = resumed;
          recorders.push(recorder);
          say(1);
        } else {
          log.push('say');
          say(1 + Math.floor(r() * 3));
        }
        await waitUntil(
          () => delivered().length >= said.length,
          `all of ${said.length} delivered after ${log.join(',')} (have ${delivered().join(',')})`,
          5000,
        ).catch(() => {});
        const got = delivered();
        expect(
          {
            dupes: got.filter((t, i) => got.indexOf(t) !== i),
            missing: said.filter((t) => !got.includes(t)),
          },
          log.join(','),
        ).toEqual({ dupes: [], missing: [] });
      }
    }, 120_000);
  }
});
