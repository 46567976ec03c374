import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
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
function keepingHost(keepFile: string, bots: Record<string, unknown> = { default: 'echo' }) {
  return runningHost({
    on: emulator,
    config: { bots, shutdown: { onShutdown: 'keep', keepFile, drainTimeoutMs: 500 } },
  });
}

/** startHost itself (not the test harness, which stops it after the test), keeping its chats in `keepFile`. */
async function startKeeping(keepFile: string) {
  const config = await loadConfig({
    dir: '/nonexistent',
    env: {},
    overrides: {
      aws: { endpoint: emulator.endpoint, region: emulator.region },
      bots: { default: 'echo' },
      join: { port: 0, secret: 'x'.repeat(32) },
      metrics: { enabled: false },
      shutdown: { onShutdown: 'keep', keepFile, drainTimeoutMs: 500 },
    },
  });
  return startHost(config, { logger: silentLogger, credentials: dummyCredentials });
}

/** The contacts of the chats in a keep file. */
async function keptIds(keepFile: string): Promise<string[]> {
  const kept = JSON.parse(await readFile(keepFile, 'utf8')) as Array<{ snapshot: { contactId: string } }>;
  return kept.map((k) => k.snapshot.contactId);
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
    await expect(startKeeping(keepFile)).rejects.toMatchObject({
      code: 'CB_KEEP_FILE_INVALID',
      message: expect.stringContaining('0.attributes'),
    });
    expect(await readFile(keepFile, 'utf8')).toBe('[{"bot":"echo"}]');
  });
});

describe('kept chats the next start does not take over are written back, not lost', () => {
  it('a kept chat whose bot is not loaded at the next start is not lost: written back at keep shutdown', async () => {
    const keepFile = join(dir, 'unknown-bot.json');
    const first = await keepingHost(keepFile);
    const chat = await chatWithBot({ emulator });
    await first.running.stop();
    const token = (
      JSON.parse(await readFile(keepFile, 'utf8')) as Array<{ snapshot: { participantToken: string } }>
    )[0]!.snapshot.participantToken;

    // The operator restarts with a narrower bots.enabled (echo forgotten).
    const second = await keepingHost(keepFile, { enabled: ['faq'], default: 'faq' });
    expect(await second.running.resumed).toMatchObject({ resumed: 0, ended: 0, failed: 1 });
    expect(second.logs.text).not.toContain(token);
    await second.running.stop();
    // The chat is still open with the bot in it, and the file records it for the next start.
    expect(emulator.contact(chat.contactId).state).not.toBe('ENDED');
    expect(await keptIds(keepFile).catch(() => [])).toEqual([chat.contactId]);
  });

  it('a kept chat whose resume fails for a transient upstream error is written back, not dropped', async () => {
    const keepFile = join(dir, 'transient.json');
    const first = await keepingHost(keepFile);
    const chat = await chatWithBot({ emulator });
    await first.running.stop();

    emulator.faults.failNext('CreateParticipantConnection', { count: 50, status: 500 });
    const second = await keepingHost(keepFile);
    const summary = await second.running.resumed;
    emulator.faults.clear();
    expect(summary).toMatchObject({ resumed: 0, failed: 1 });
    await second.running.stop();
    expect(await keptIds(keepFile).catch(() => [])).toEqual([chat.contactId]);
  }, 60_000);

  it('a keepFile that cannot be written is refused at start, not discovered at shutdown after the chats were released', async () => {
    const keepFile = join(dir, 'no-such-dir', 'kept.json');
    const started = startKeeping(keepFile);
    const outcome = await started.then(
      async (running) => {
        await running.stop();
        return 'started';
      },
      (error: { code?: string }) => error.code,
    );
    expect(outcome).toBe('CB_CONFIG_INVALID');
  });
});

describe('a stop while a kept chat is still being taken over', () => {
  it('a resume that outlives the drain is kept again, not adopted after the host stopped', async () => {
    const keepFile = join(dir, 'race.json');
    const first = await keepingHost(keepFile);
    const chat = await chatWithBot({ emulator });
    await first.running.stop();

    // The take-over is slow (two 500s, retried with backoff); SIGTERM arrives meanwhile.
    emulator.faults.failNext('CreateParticipantConnection', { count: 2, status: 500 });
    const second = await runningHost({
      on: emulator,
      config: { bots: { default: 'echo' }, shutdown: { onShutdown: 'keep', keepFile, drainTimeoutMs: 10 } },
    });
    await second.running.stop();
    const summary = await second.running.resumed;
    const ids = await keptIds(keepFile).catch(() => []);
    // Either it was taken over before the stop and kept by it, or it was not taken and is written back.
    expect({ summary: { ...summary, notTaken: summary.notTaken.length }, ids }).toEqual({
      summary: expect.anything(),
      ids: [chat.contactId],
    });
  });
});

describe('bots.default with config/default.json', () => {
  it('enabling bots without the default one: refused unless the default is unset with null', async () => {
    // config/default.json sets bots.default "faq".
    const load = (bots: Record<string, unknown>) =>
      loadConfig({ dir: 'config', env: {}, overrides: { bots, join: { secret: 'x'.repeat(32) } } });
    await expect(load({ enabled: ['echo', 'handoff'] })).rejects.toMatchObject({
      code: 'CB_CONFIG_INVALID',
      message: expect.stringContaining(
        'bots.default: must be one of bots.enabled (or null: joins name their bot)',
      ),
    });
    await expect(load({ enabled: ['echo', 'handoff'], default: null })).resolves.toMatchObject({
      bots: { enabled: ['echo', 'handoff'], default: null },
    });
  });
});

describe('keep file writes', () => {
  it('replaces a 0644 keep file with a 0600 one and leaves no partial file', async () => {
    const sub = join(dir, 'mode');
    await mkdir(sub);
    const keepFile = join(sub, 'kept.json');
    const first = await keepingHost(keepFile);
    const chat = await chatWithBot({ emulator });
    await writeFile(keepFile, '[]');
    await chmod(keepFile, 0o644);
    await first.running.stop();
    expect((await stat(keepFile)).mode & 0o777).toBe(0o600);
    expect(await keptIds(keepFile)).toEqual([chat.contactId]);
    expect(await readdir(sub)).toEqual(['kept.json']);
    // take it over again so the chat is not left hanging
    const second = await keepingHost(keepFile);
    expect(await second.running.resumed).toMatchObject({ resumed: 1 });
    await expect(stat(keepFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a write that fails at shutdown leaves no partial file behind', async () => {
    const sub = join(dir, 'fail');
    await mkdir(sub);
    const keepFile = join(sub, 'kept.json');
    const running = await startKeeping(keepFile);
    emulator.setFlow({ url: running.joinUrl, secret: 'x'.repeat(32) });
    await chatWithBot({ emulator });
    await mkdir(keepFile); // rename onto a directory fails
    await expect(running.stop()).rejects.toMatchObject({ code: 'EISDIR' });
    expect(await readdir(sub)).toEqual(['kept.json']);
  });

  it('the next start removes what a write killed half-way left (it holds participant tokens), nothing else', async () => {
    const sub = join(dir, 'partials');
    await mkdir(sub);
    const keepFile = join(sub, 'kept.json');
    const left = 'kept.json.0b5a3c4e-9d2f-4e1a-8c3b-7f6e5d4c3b2a.partial';
    const others = ['kept.json.notes.partial', 'other.json.0b5a3c4e-9d2f-4e1a-8c3b-7f6e5d4c3b2a.partial'];
    for (const name of [left, ...others]) await writeFile(join(sub, name), '[{"bot":"echo"', { mode: 0o600 });
    await keepingHost(keepFile);
    expect((await readdir(sub)).sort()).toEqual(others.sort());
  });
});
