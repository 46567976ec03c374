import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import type { KeptChat } from '../../src/index.js';
import { chatWithBot } from '../support/host-harness.js';
import { runningHost } from '../support/running-host.js';

let dir: string;
let emulator: Emulator;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'connect-bot-metrics-'));
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

const config = (keepFile: string, extra: Record<string, unknown> = {}) => ({
  bots: { default: 'echo' },
  shutdown: { onShutdown: 'keep', keepFile, drainTimeoutMs: 500 },
  ...extra,
});

/**
 * bothost_resumes_total counts every resume by result, the refusals (CB_NOT_ACCEPTING, CB_UNKNOWN_BOT) included,
 * as the summary does.
 */
describe('bothost_resumes_total counts every resume that did not succeed', () => {
  it('counts a kept chat whose bot is no longer loaded (CB_UNKNOWN_BOT)', async () => {
    const keepFile = join(dir, 'unknown.json');
    const first = await runningHost({ on: emulator, config: config(keepFile) });
    await chatWithBot({ emulator });
    await first.running.stop();
    const kept = JSON.parse(await readFile(keepFile, 'utf8')) as KeptChat[];
    await writeFile(keepFile, JSON.stringify(kept.map((k) => ({ ...k, bot: 'gone' }))), { mode: 0o600 });

    const second = await runningHost({ on: emulator, config: config(keepFile) });
    expect(await second.running.resumed).toMatchObject({ resumed: 0, failed: 1 });
    expect(await second.running.metrics.registry.metrics()).toContain(
      'bothost_resumes_total{result="CB_UNKNOWN_BOT"} 1',
    );
  });

  it('counts a kept chat the host had no room for (CB_NOT_ACCEPTING)', async () => {
    const keepFile = join(dir, 'full.json');
    const first = await runningHost({ on: emulator, config: config(keepFile) });
    await chatWithBot({ emulator });
    await chatWithBot({ emulator });
    await first.running.stop();
    const small = await runningHost({ on: emulator, config: config(keepFile, { host: { maxChats: 1 } }) });
    const summary = await small.running.resumed;
    expect(summary.notTaken).toHaveLength(1);
    expect(await small.running.metrics.registry.metrics()).toContain(
      'bothost_resumes_total{result="CB_NOT_ACCEPTING"} 1',
    );
  });
});
