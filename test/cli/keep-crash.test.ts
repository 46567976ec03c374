import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { takeOverFile } from '../../src/host/kept-file.js';
import { chatWithBot, waitForBotMessages } from '../support/host-harness.js';
import { runningHost } from '../support/running-host.js';
import { runCli } from '../support/spawn.js';
import { waitUntil } from '../support/wait.js';

let dir: string;
let emulator: Emulator;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'connect-bot-keep-crash-'));
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** `connect-bot start` keeping its chats in `keepFile`, with `quotas` overrides. */
async function startCli(keepFile: string, name: string, quotas: Record<string, unknown> = {}) {
  const file = join(dir, `${name}.json`);
  await writeFile(
    file,
    JSON.stringify({
      aws: { endpoint: emulator.endpoint, region: emulator.region },
      join: { port: 0, secret: 'x'.repeat(32) },
      metrics: { port: 0 },
      bots: { enabled: ['echo'], default: 'echo' },
      quotas: { rates: quotas },
      shutdown: { onShutdown: 'keep', keepFile },
      log: { level: 'info', pretty: false },
    }),
  );
  const cli = runCli(['start', '--config', file], {
    env: { AWS_ACCESS_KEY_ID: 'l', AWS_SECRET_ACCESS_KEY: 'l' },
  });
  await cli.line('connect-bot ready ');
  return cli;
}

describe('a start killed while it takes kept chats over', () => {
  it('leaves them in the take-over file, and the next start takes every one over', async () => {
    const keepFile = join(dir, 'kept.json');
    // A host keeps two chats at its shutdown.
    const first = await runningHost({
      on: emulator,
      config: { bots: { default: 'echo' }, shutdown: { onShutdown: 'keep', keepFile, drainTimeoutMs: 500 } },
    });
    const chats = [await chatWithBot({ emulator }), await chatWithBot({ emulator })];
    for (const chat of chats) await waitForBotMessages(emulator, chat.contactId, 1);
    await first.running.stop();

    // The next start gets one CreateParticipantConnection token in 100 s: it takes one chat over, then waits.
    const connections = emulator.calls.count('CreateParticipantConnection');
    const killed = await startCli(keepFile, 'slow', {
      CreateParticipantConnection: { rate: 0.01, burst: 1 },
    });
    await waitUntil(
      () => emulator.calls.count('CreateParticipantConnection') === connections + 1,
      'the first take-over',
    );
    killed.child.kill('SIGKILL');
    await killed.exit();
    expect({ keepFile: await exists(keepFile), takeOver: await exists(takeOverFile(keepFile)) }).toEqual({
      keepFile: false,
      takeOver: true,
    });

    const next = await startCli(keepFile, 'normal');
    try {
      const summary = await waitUntil(
        () => next.stdout.find((line) => line.includes('"event":"resume-kept"')),
        'the take-over summary',
      );
      expect(JSON.parse(summary)).toMatchObject({ resumed: 2, ended: 0, failed: 0, notTaken: 0 });
      expect(await exists(takeOverFile(keepFile))).toBe(false);
      for (const chat of chats) {
        emulator.say(chat.contactId, 'still there?');
        await waitUntil(
          () =>
            emulator
              .transcript(chat.contactId)
              .some(
                (item) => item.ParticipantRole === 'CUSTOM_BOT' && item.Content?.includes('still there?'),
              ),
          'the echo',
        );
      }
    } finally {
      next.child.kill('SIGTERM');
      await next.exit();
    }
  });
});
