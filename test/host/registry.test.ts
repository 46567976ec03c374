import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBots } from '../../src/host/registry.js';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

/** A plugin that default-exports a plain object, as a plugin written without defineBot does. */
const plain = (name: string, displayName = 'Bot') =>
  `export default { name: ${JSON.stringify(name)}, displayName: ${JSON.stringify(displayName)}, setup() {} };\n`;

async function botsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cb-registry-'));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

describe('loadBots', () => {
  it('loads files and folders named like bots, and skips helpers beside them', async () => {
    const dir = await botsDir({
      'echo.mjs': plain('echo'),
      'faq/index.mjs': plain('faq'),
      '_shared/index.mjs': 'throw new Error("not a bot");\n',
      'Helpers.mjs': 'throw new Error("not a bot");\n',
      'notes/readme.txt': 'a folder without an index\n',
    });
    expect((await loadBots(dir)).map((bot) => bot.name)).toEqual(['echo', 'faq']);
  });

  it('refuses two plugins of one name, naming both', async () => {
    const dir = await botsDir({
      'echo.mjs': plain('echo', 'File'),
      'echo/index.mjs': plain('echo', 'Folder'),
    });
    await expect(loadBots(dir)).rejects.toMatchObject({
      code: 'CB_BOT_LOAD_FAILED',
      message: expect.stringMatching(/two plugins named "echo": .*echo.*echo/),
    });
  });

  it("is not stopped by an editor's dangling lock link", async () => {
    const dir = await botsDir({ 'echo.mjs': plain('echo') });
    await symlink('user@host.1234:1700000000', join(dir, '.#echo.mjs'));
    expect((await loadBots(dir)).map((bot) => bot.name)).toEqual(['echo']);
  });

  it('a dangling link named like a bot is a coded error naming it', async () => {
    const dir = await botsDir({});
    await symlink(join(dir, 'gone.mjs'), join(dir, 'faq.mjs'));
    await expect(loadBots(dir)).rejects.toMatchObject({
      code: 'CB_BOT_LOAD_FAILED',
      message: expect.stringContaining('faq.mjs'),
    });
  });

  it("checks a plain-object definition as defineBot does (displayName '' would fail every join)", async () => {
    const dir = await botsDir({ 'quiet.mjs': plain('quiet', '') });
    await expect(loadBots(dir)).rejects.toMatchObject({
      code: 'CB_BOT_LOAD_FAILED',
      message: expect.stringContaining('displayName'),
    });
  });

  it('refuses an async setup at load, with no unhandled rejection after', async () => {
    const dir = await botsDir({
      'slow.mjs':
        "export default { name: 'slow', displayName: 'Slow', async setup() { await null; throw new Error('answers file missing'); } };\n",
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(loadBots(dir)).rejects.toMatchObject({
        code: 'CB_BOT_LOAD_FAILED',
        message: expect.stringContaining('setup must be synchronous'),
      });
      await new Promise((resolve) => setImmediate(resolve)); // where an unhandled rejection would be reported
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('names the file in every load failure: import, definition checks, setup', async () => {
    const dir = await botsDir({
      'broken.mjs': 'throw new Error("syntax slip");\n',
      'quiet/index.mjs': plain('quiet', ''),
      'boom.mjs':
        "export default { name: 'boom', displayName: 'Boom', setup() { throw new Error('kaboom'); } };\n",
    });
    for (const [name, file, reason] of [
      ['broken', 'broken.mjs', 'syntax slip'],
      ['quiet', join('quiet', 'index.mjs'), 'displayName'],
      ['boom', 'boom.mjs', 'kaboom'],
    ] as const) {
      const error = await loadBots(dir, [name]).catch((e: unknown) => e);
      expect(error, name).toMatchObject({ code: 'CB_BOT_LOAD_FAILED' });
      expect((error as Error).message, name).toContain(join(dir, file));
      expect((error as Error).message, name).toContain(reason);
    }
  });

  it('refuses a bot whose name is not its file name', async () => {
    const dir = await botsDir({ 'echo.mjs': plain('other') });
    await expect(loadBots(dir)).rejects.toMatchObject({
      code: 'CB_BOT_LOAD_FAILED',
      message: expect.stringContaining('defines bot "other", expected "echo"'),
    });
  });
});
