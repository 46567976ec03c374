import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/spawn.js';

const SECRET_ENV = { CONNECT_BOT_JOIN_SECRET: 'x'.repeat(32) };
const TOKEN = 'QVFJREFIaFRPS0VOc2VjcmV0MTIzNDU2Nzg5MGFiY2RlZg';
const STACK_LINE = /^\s+at /;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'connect-bot-keep-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A config file for `connect-bot start` with shutdown.keepFile set (no env variable for it). */
async function configWith(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const file = join(dir, `${name}.config.json`);
  await writeFile(
    file,
    JSON.stringify({
      join: { port: 0 },
      metrics: { port: 0 },
      shutdown: { onShutdown: 'keep', keepFile: join(dir, `${name}.kept.json`) },
      log: { level: 'silent' },
      ...extra,
    }),
  );
  return file;
}

const VALID_KEPT = JSON.stringify([
  {
    bot: 'echo',
    attributes: {},
    snapshot: {
      instanceId: 'i',
      contactId: 'c',
      initialContactId: 'c',
      participantId: 'p',
      participantToken: TOKEN,
    },
  },
]);

function listening(): Promise<{ server: Server; port: number }> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done({ server, port: (server.address() as { port: number }).port }));
  });
}

describe('connect-bot start: a keep file it cannot use', () => {
  it('an empty keep file (truncated by a crash or a full disk) is reported without a stack trace', async () => {
    const config = await configWith('empty');
    await writeFile(join(dir, 'empty.kept.json'), '');
    const cli = runCli(['start', '--config', config], { env: SECRET_ENV });
    expect(await cli.exit()).toBe(1);
    expect(cli.stderr[0]).toContain('CB_KEEP_FILE_INVALID');
    // An operator error in a data file, not a bug: no stack of the JSON parser.
    expect(cli.stderr.filter((line) => STACK_LINE.test(line))).toEqual([]);
  });

  it('a hand-edited keep file with a syntax error does not print part of the participant token', async () => {
    const config = await configWith('edited');
    // The quote before the token was lost when the operator edited the file.
    await writeFile(join(dir, 'edited.kept.json'), VALID_KEPT.replace(`"${TOKEN}"`, `${TOKEN}"`));
    const cli = runCli(['start', '--config', config], { env: SECRET_ENV });
    expect(await cli.exit()).toBe(1);
    const output = cli.stderr.join('\n');
    expect(output).toContain('CB_KEEP_FILE_INVALID');
    expect(output).not.toContain(TOKEN.slice(0, 8));
  });
});

describe('connect-bot start: a failure whose cause chain loops', () => {
  it('prints the codes once each and exits 1, instead of overflowing the stack', async () => {
    const bots = join(dir, 'loop-bots');
    await mkdir(bots, { recursive: true });
    await writeFile(join(bots, 'package.json'), '{"type":"module"}');
    const errors = resolve('src/errors.ts');
    await writeFile(
      join(bots, 'loop.ts'),
      `import { ConnectBotError } from ${JSON.stringify(errors)};
const a = new ConnectBotError('CB_INVALID_ARGUMENT', 'first');
const b = new ConnectBotError('CB_NETWORK', 'second', { cause: a });
(a as { cause?: unknown }).cause = b;
throw a;
`,
    );
    const cli = runCli(['start'], {
      env: { ...SECRET_ENV, CONNECT_BOT_BOTS_DIR: bots, CONNECT_BOT_DEFAULT_BOT: 'loop' },
    });
    expect(await cli.exit()).toBe(1);
    const output = cli.stderr.join('\n');
    expect(output).not.toContain('Maximum call stack size exceeded');
    expect(output).toContain(
      `connect-bot: CB_BOT_LOAD_FAILED: ${join(bots, 'loop.ts')}: bot "loop" failed to load: first`,
    );
    expect(cli.stderr.length).toBeLessThan(50);
  });
});

describe('connect-bot start: start-up failures around the keep file', () => {
  it('a keep file that is a directory: exit 1, coded, no stack', async () => {
    const config = await configWith('dir');
    await mkdir(join(dir, 'dir.kept.json'));
    const cli = runCli(['start', '--config', config], { env: SECRET_ENV });
    expect(await cli.exit()).toBe(1);
    expect(cli.stderr[0]).toMatch(/^connect-bot: CB_KEEP_FILE_INVALID: cannot read the kept chats in /);
    expect(cli.stderr[1]).toContain('caused by: EISDIR');
    expect(cli.stderr.filter((line) => STACK_LINE.test(line))).toEqual([]);
  });

  it('a keep file holding JSON null: exit 1, coded, no stack, left in place', async () => {
    const config = await configWith('null');
    await writeFile(join(dir, 'null.kept.json'), 'null');
    const cli = runCli(['start', '--config', config], { env: SECRET_ENV });
    expect(await cli.exit()).toBe(1);
    expect(cli.stderr.join('\n')).toContain('CB_KEEP_FILE_INVALID');
    expect(cli.stderr.join('\n')).toContain('(root)');
    expect(cli.stderr.filter((line) => STACK_LINE.test(line))).toEqual([]);
    expect(await readFile(join(dir, 'null.kept.json'), 'utf8')).toBe('null');
  });

  for (const which of ['join', 'metrics'] as const) {
    it(`a ${which} port in use after the keep file was read: exit 1, no stack, file left whole`, async () => {
      const { server, port } = await listening();
      try {
        const config = await configWith(`busy-${which}`, {
          join: { port: which === 'join' ? port : 0 },
          metrics: { port: which === 'metrics' ? port : 0 },
        });
        const keepFile = join(dir, `busy-${which}.kept.json`);
        await writeFile(keepFile, VALID_KEPT, { mode: 0o600 });
        const cli = runCli(['start', '--config', config], { env: SECRET_ENV });
        expect(await cli.exit()).toBe(1);
        expect(cli.stderr.join('\n')).toContain('EADDRINUSE');
        expect(cli.stderr.filter((line) => STACK_LINE.test(line))).toEqual([]);
        expect(cli.stderr.join('\n')).not.toContain(TOKEN);
        expect(await readFile(keepFile, 'utf8')).toBe(VALID_KEPT);
      } finally {
        await new Promise((done) => server.close(done));
      }
    });
  }
});
