import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { startHost } from '../../src/host/start.js';
import { silentLogger } from '../../src/observability/log-types.js';
import { botMessages, chatWithBot, waitForBotMessages } from '../support/host-harness.js';
import { runningHost } from '../support/running-host.js';
import { dummyCredentials } from '../support/sdk.js';

let dir: string;
let emulator: Emulator;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'connect-bot-keep-'));
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

/** A host as `connect-bot start` runs it, keeping its chats in `keepFile` at shutdown. */
function keepingHost(keepFile: string) {
  return runningHost({
    on: emulator,
    config: { bots: { default: 'echo' }, shutdown: { onShutdown: 'keep', keepFile, drainTimeoutMs: 500 } },
  });
}

describe('a restart with shutdown.onShutdown keep and shutdown.keepFile', () => {
  it('the next start takes the kept chats over from the file and answers what was said meanwhile', async () => {
    const keepFile = join(dir, 'kept.json');
    const first = await keepingHost(keepFile);
    const chat = await chatWithBot({ emulator });
    emulator.say(chat.contactId, 'before');
    await waitForBotMessages(emulator, chat.contactId, 2);
    await first.running.stop();

    // Written whole, readable by the owner only: the snapshots carry participant tokens.
    expect((await stat(keepFile)).mode & 0o777).toBe(0o600);
    const kept = JSON.parse(await readFile(keepFile, 'utf8')) as Array<{
      bot: string;
      snapshot: { contactId: string; participantToken: string };
    }>;
    expect(kept.map((k) => [k.bot, k.snapshot.contactId])).toEqual([['echo', chat.contactId]]);
    emulator.say(chat.contactId, 'while restarting');

    const second = await keepingHost(keepFile);
    expect(await second.running.resumed).toEqual({ resumed: 1, ended: 0, failed: 0, notTaken: [] });
    const metrics = await second.running.metrics.registry.metrics();
    expect(metrics).toContain('bothost_resumes_total{result="success"} 1');
    expect(metrics).not.toContain('bothost_joins_total{');
    await expect(stat(keepFile)).rejects.toMatchObject({ code: 'ENOENT' });
    await waitForBotMessages(emulator, chat.contactId, 3);
    emulator.say(chat.contactId, 'after');
    await waitForBotMessages(emulator, chat.contactId, 4);
    // One greeting, each message answered once.
    expect(botMessages(emulator, chat.contactId)).toEqual([
      'Hi! I am Echo. I repeat whatever you say.',
      'before',
      'while restarting',
      'after',
    ]);
    // Neither host logged the token it kept or resumed with.
    for (const { logs } of [first, second])
      expect(logs.text).not.toContain(kept[0]!.snapshot.participantToken);
  });

  it('counts a chat that ended while no host held it, and starts normally', async () => {
    const keepFile = join(dir, 'ended.json');
    const first = await keepingHost(keepFile);
    const chat = await chatWithBot({ emulator });
    await first.running.stop();
    emulator.endChat(chat.contactId);
    const second = await keepingHost(keepFile);
    expect(await second.running.resumed).toMatchObject({ resumed: 0, ended: 1, failed: 0 });
    expect(await second.running.metrics.registry.metrics()).toContain(
      'bothost_resumes_total{result="CB_CHAT_ENDED"} 1',
    );
    expect(second.running.host.chats.size).toBe(0);
  });

  it('a chat the next host has no room for is written back at its own keep shutdown, not lost', async () => {
    const keepFile = join(dir, 'full.json');
    const first = await keepingHost(keepFile);
    const chats = [await chatWithBot({ emulator }), await chatWithBot({ emulator })];
    await first.running.stop();
    const small = await runningHost({
      on: emulator,
      config: {
        bots: { default: 'echo' },
        host: { maxChats: 1 },
        shutdown: { onShutdown: 'keep', keepFile, drainTimeoutMs: 500 },
      },
    });
    const summary = await small.running.resumed;
    expect(summary).toMatchObject({ resumed: 1, ended: 0, failed: 0 });
    expect(summary.notTaken).toHaveLength(1);
    await small.running.stop();
    const kept = JSON.parse(await readFile(keepFile, 'utf8')) as Array<{ snapshot: { contactId: string } }>;
    expect(kept.map((k) => k.snapshot.contactId).sort()).toEqual(chats.map((c) => c.contactId).sort());
  });

  it('refuses to start on a keep file it cannot read, and leaves the file for the operator', async () => {
    const keepFile = join(dir, 'broken.json');
    await writeFile(keepFile, '[{"bot":"echo"}]');
    const config = await loadConfig({
      dir: '/nonexistent',
      env: {},
      overrides: {
        aws: { endpoint: emulator.endpoint, region: emulator.region },
        join: { port: 0, secret: 'x'.repeat(32) },
        metrics: { enabled: false },
        shutdown: { onShutdown: 'keep', keepFile },
      },
    });
    await expect(
      startHost(config, { logger: silentLogger, credentials: dummyCredentials }),
    ).rejects.toMatchObject({
      code: 'CB_KEEP_FILE_INVALID',
      message: expect.stringContaining('0.attributes'),
    });
    expect(await readFile(keepFile, 'utf8')).toBe('[{"bot":"echo"}]');
  });
});
