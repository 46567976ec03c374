import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Scheduler } from '../../src/index.js';
import { joinedChat, setup } from '../support/harness.js';
import { nextEvent } from '../support/wait.js';

const DAY = 24 * 60 * 60 * 1000;

// Node prints a TimeoutOverflowWarning per clamped timer: hundreds here. Keep them off the test output.
let printers: Array<(...args: unknown[]) => void> = [];
beforeEach(() => {
  printers = process.listeners('warning') as never;
  process.removeAllListeners('warning');
});
afterEach(() => {
  vi.restoreAllMocks();
  for (const printer of printers) process.on('warning', printer);
});

describe('Scheduler: a task further away than setTimeout can wait (2^31-1 ms, 24.8 days)', () => {
  it('does not wake up every millisecond while that task is the earliest one', async () => {
    const scheduler = new Scheduler();
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const task = scheduler.schedule(30 * DAY, () => {});
    // An absence cannot be awaited: uncapped, Node clamps the delay to 1 ms and the scheduler re-arms after
    // every empty wake-up, hundreds of times in this window.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const armed = timers.mock.calls.length - 1; // minus the wait above
    scheduler.cancel(task);
    process.off('warning', onWarning);
    expect({
      armed,
      overflowWarnings: warnings.filter((w) => w === 'TimeoutOverflowWarning').length,
    }).toEqual({
      armed: 1,
      overflowWarnings: 0,
    });
  });

  it('a session given a far-future ConnectionCredentials.Expiry does not spin the shared timer while it reconnects', async () => {
    const scheduler = new Scheduler();
    const { emulator, client } = await setup({
      // A URL is never reused, so every reconnect calls CreateParticipantConnection.
      client: { scheduler, timings: { urlMaxAgeMs: 1, reconnectMinDelayMs: 400, reconnectMaxDelayMs: 400 } },
    });
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    // First drop: the reconnect's CreateParticipantConnection hands out a token that expires in the year 2999.
    emulator.faults.malformExpiries(bot, { expiry: '2999-01-01T00:00:00.000Z' });
    let reopened = nextEvent(session, 'state', (state) => state === 'open', 5000);
    emulator.faults.dropSockets(bot, 'abrupt');
    await reopened;
    // Second drop, with the service failing: the first attempt fails (5 x 500 with the harness's retries) and
    // the reconnect backs off 400-800 ms, during which the session's only task is that token refresh.
    emulator.faults.failNext('CreateParticipantConnection', { count: 5, status: 500, participant: bot });
    const timers = vi.spyOn(globalThis, 'setTimeout');
    reopened = nextEvent(session, 'state', (state) => state === 'open', 10_000);
    emulator.faults.dropSockets(bot, 'abrupt');
    await reopened;
    const overflowed = timers.mock.calls.filter(([, delay]) => (delay ?? 0) > 2 ** 31 - 1).length;
    // A scheduler that waits properly arms its timer once for that task, not once per millisecond.
    expect(overflowed).toBeLessThanOrEqual(1);
  });
});
