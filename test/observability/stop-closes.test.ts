import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { chatWithBot, waitForBotMessages } from '../support/host-harness.js';
import { runningHost, scrape } from '../support/running-host.js';

describe('keep shutdown and resume (observability)', () => {
  it('a resumed chat is counted as a resume and held; gauges match', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'obs-keep-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const keepFile = join(dir, 'kept.json');
    const config = { shutdown: { onShutdown: 'keep', keepFile } };
    const first = await runningHost({ config });
    const chat = await chatWithBot({ emulator: first.emulator }, { bot: 'echo' });
    await waitForBotMessages(first.emulator, chat.contactId, 1);
    await first.running.stop();
    const second = await runningHost({ config, on: first.emulator });
    const summary = await second.running.resumed;
    expect(summary.resumed).toBe(1);
    const m = await scrape(second.running.metricsUrl!);
    expect(m.get('bothost_resumes_total{result="success"}')).toBe(1);
    expect(m.get('bothost_joins_total{result="success"}')).toBeUndefined();
    expect(m.get('bothost_chats_active{bot="echo"}')).toBe(1);
    expect(m.get('bothost_ws_connections')).toBe(1);
    expect((await fetch(`${second.running.metricsUrl}/readyz`)).status).toBe(200);
  });

  it('the health server is closed by stop() even when writing the keep file fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'obs-keep-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const keepFile = join(dir, 'kept.json');
    const { emulator, running } = await runningHost({
      config: { shutdown: { onShutdown: 'keep', keepFile } },
    });
    const chat = await chatWithBot({ emulator }, { bot: 'echo' });
    await waitForBotMessages(emulator, chat.contactId, 1);
    // The keep file's path becomes a directory: the rename at shutdown fails (EISDIR).
    await mkdir(keepFile);
    await writeFile(join(keepFile, 'x'), 'x');
    const url = running.metricsUrl!;
    const health = running.health!;
    const stopping = running.stop();
    // Let the afterEach cleanup (which calls running.stop() again) succeed.
    running.stop = async () => {};
    await expect(stopping).rejects.toThrow();
    const probe = await fetch(`${url}/livez`, { signal: AbortSignal.timeout(2000) }).then(
      (res) => `open (${res.status})`,
      () => 'closed',
    );
    try {
      expect(probe).toBe('closed');
    } finally {
      await health.close();
    }
  });
});
