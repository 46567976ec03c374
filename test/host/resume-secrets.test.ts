import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
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
  dir = await mkdtemp(join(tmpdir(), 'connect-bot-secrets-'));
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

/** Failed resumes are logged with their causes; none of them may carry a token. */
describe('resumes that fail', () => {
  it('log no token, and a kept file rewritten over a world-readable one is 0600', async () => {
    const keepFile = join(dir, 'kept.json');
    const config = {
      bots: { default: 'echo' },
      shutdown: { onShutdown: 'keep', keepFile, drainTimeoutMs: 500 },
    };
    const first = await runningHost({ on: emulator, config });
    const [ended] = [
      await chatWithBot({ emulator }),
      await chatWithBot({ emulator }),
      await chatWithBot({ emulator }),
    ];
    await first.running.stop();
    const kept = JSON.parse(await readFile(keepFile, 'utf8')) as KeptChat[];
    emulator.endChat(ended!.contactId);
    const edited = kept.map((k, i) =>
      k.snapshot.contactId === ended!.contactId ? k : i % 2 ? { ...k, bot: 'gone' } : k,
    );
    await writeFile(keepFile, JSON.stringify(edited), { mode: 0o644 });

    const second = await runningHost({ on: emulator, config });
    const summary = await second.running.resumed;
    expect(summary.ended).toBe(1);
    expect(summary.resumed + summary.failed).toBe(2);
    await second.running.stop();
    expect((await stat(keepFile)).mode & 0o777).toBe(0o600);
    for (const secret of emulator.secrets()) {
      expect(first.logs.text).not.toContain(secret);
      expect(second.logs.text).not.toContain(secret);
    }
  });
});
