import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readKeptFile } from '../../src/host/kept-file.js';
import { chatWithBot, waitForBotMessages } from '../support/host-harness.js';
import { runningHost } from '../support/running-host.js';
import { nextEvent } from '../support/wait.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'connect-bot-deadline-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('a stop that runs out of time (shutdown.timeoutMs)', () => {
  it('returns within it, and lets the chats it could not hand off go as keep would: to the keep file', async () => {
    const keepFile = join(dir, 'overdue.json');
    // Handing off 6 chats at DisconnectParticipant's 1 a second takes 5 s or more; the stop has 1.5 s.
    const { emulator, running, logs } = await runningHost({
      config: {
        bots: { default: 'echo' },
        quotas: { rates: { DisconnectParticipant: { rate: 1, burst: 1 } } },
        shutdown: { onShutdown: 'handoff', keepFile, drainTimeoutMs: 200, timeoutMs: 1500 },
      },
    });
    const chats = [];
    for (let i = 0; i < 6; i++) chats.push(await chatWithBot({ emulator }, { bot: 'echo' }));
    for (const chat of chats) await waitForBotMessages(emulator, chat.contactId, 1);
    const started = performance.now();
    const stopping = running.host.stop();
    const result = await stopping;
    expect(performance.now() - started).toBeLessThan(3000);
    expect(result.overdue).toBeGreaterThan(0);
    expect(result.overdue).toBeLessThan(6);
    expect(result.kept).toHaveLength(result.overdue);
    // Let go on purpose, not failures: only the overdue summary is logged for them.
    expect(logs.events().filter((line) => line.event === 'shutdown-failed')).toEqual([]);
    expect(logs.events().filter((line) => line.event === 'shutdown-overdue')).toHaveLength(1);
    await running.stop();
    const written = await readKeptFile(keepFile);
    expect(written.map((chat) => chat.snapshot.contactId).sort()).toEqual(
      result.kept.map((chat) => chat.snapshot.contactId).sort(),
    );
    expect(JSON.parse(await readFile(keepFile, 'utf8'))).toHaveLength(result.overdue);
    // The overdue chats still have their bot (it did not leave): a next host can take them over.
    for (const kept of written) {
      const bot = emulator
        .contact(kept.snapshot.contactId)
        .participants.find((p) => p.participantId === kept.snapshot.participantId);
      expect(bot?.state).toBe('connected');
    }
  });

  it('an overdue chat whose handoff attributes were still being set is let go quietly, not a failure', async () => {
    // UpdateContactAttributes at 1 a second: most chats are still setting their attributes when time runs out.
    const { emulator, running, logs } = await runningHost({
      config: {
        bots: { default: 'echo' },
        quotas: { rates: { UpdateContactAttributes: { rate: 1, burst: 1 } } },
        shutdown: { onShutdown: 'handoff', drainTimeoutMs: 200, timeoutMs: 1200 },
      },
    });
    const chats = [];
    for (let i = 0; i < 4; i++) chats.push(await chatWithBot({ emulator }, { bot: 'echo' }));
    for (const chat of chats) await waitForBotMessages(emulator, chat.contactId, 1);
    let set = 0;
    const allSet = nextEvent(
      running.client,
      'apiCall',
      (call) => call.operation === 'UpdateContactAttributes' && ++set === chats.length,
    );
    const result = await running.host.stop();
    expect(result.overdue).toBeGreaterThan(0);
    // The overdue chats' attribute calls still complete; what follows them must not be logged as a failure.
    await allSet;
    await new Promise((resolve) => setImmediate(resolve));
    expect(logs.events().filter((line) => line.event === 'shutdown-failed')).toEqual([]);
  });
});
