import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { runCli } from '../support/spawn.js';
import { waitUntil } from '../support/wait.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'connect-bot-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('connect-bot start', () => {
  it('refuses an invalid configuration with exit code 2, listing every problem', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(
      file,
      JSON.stringify({ join: { port: 'eighty' }, handlers: { timeoutMs: -1 }, surprise: true }),
    );
    const cli = runCli(['start', '--config', file], { env: { CONNECT_BOT_ON_SHUTDOWN: 'explode' } });
    expect(await cli.exit()).toBe(2);
    const output = cli.stderr.join('\n');
    for (const problem of [
      'join.secret: required',
      'join.port:',
      'handlers.timeoutMs:',
      'shutdown.onShutdown:',
      'Unrecognized key: "surprise"',
    ]) {
      expect(output).toContain(problem);
    }
    expect(cli.stdout.some((line) => line.startsWith('connect-bot ready'))).toBe(false);
  });

  it('refuses a default bot that is not loaded with exit code 2, naming the bots it found', async () => {
    const cli = runCli(['start'], {
      env: {
        CONNECT_BOT_JOIN_SECRET: 'x'.repeat(32),
        CONNECT_BOT_JOIN_PORT: '0',
        CONNECT_BOT_DEFAULT_BOT: 'nope',
      },
    });
    expect(await cli.exit()).toBe(2);
    expect(cli.stderr.join('\n')).toContain(
      'bots.default: no bot "nope" in bots (found: echo, faq, handoff)',
    );
  });

  it('refuses a default bot outside bots.enabled before loading anything', async () => {
    const file = join(dir, 'default-not-enabled.json');
    await writeFile(file, JSON.stringify({ bots: { enabled: ['echo'], default: 'faq' } }));
    const cli = runCli(['start', '--config', file], { env: { CONNECT_BOT_JOIN_SECRET: 'x'.repeat(32) } });
    expect(await cli.exit()).toBe(2);
    expect(cli.stderr.join('\n')).toContain('bots.default: must be one of bots.enabled');
  });

  it('reports a coded startup failure by its code and cause, without a stack trace', async () => {
    const missing = join(dir, 'no-such-folder');
    const cli = runCli(['start'], {
      env: { CONNECT_BOT_JOIN_SECRET: 'x'.repeat(32), CONNECT_BOT_BOTS_DIR: missing },
    });
    expect(await cli.exit()).toBe(1);
    expect(cli.stderr).toEqual([
      `connect-bot: CB_BOT_LOAD_FAILED: cannot read the bots folder ${missing}`,
      `  caused by: ENOENT: no such file or directory, scandir '${missing}'`,
    ]);
  });

  describe('against the emulator', () => {
    let emulator: Emulator;
    beforeAll(async () => {
      emulator = await startEmulator();
    });
    afterAll(() => emulator.close());

    it('starts, joins through `connect-bot join`, talks, and hands off on SIGTERM', async () => {
      const secret = 'cli-test-secret-0123456789';
      const file = join(dir, 'good.json');
      await writeFile(
        file,
        JSON.stringify({
          aws: { endpoint: emulator.endpoint, region: emulator.region },
          join: { port: 0, secret },
          metrics: { port: 0 },
          bots: { enabled: ['echo', 'faq'], default: 'faq' },
          log: { level: 'info', pretty: false },
        }),
      );
      // The Connect API is SigV4-signed: the default credential chain reads these (the emulator ignores them).
      const env = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
      const host = runCli(['start', '--config', file], { env });
      const ready = JSON.parse(
        (await host.line('connect-bot ready ')).slice('connect-bot ready '.length),
      ) as {
        joinUrl: string;
        bots: string[];
      };
      expect(ready.bots).toEqual(['echo', 'faq']);

      const chat = emulator.startChat();
      const joinCli = runCli([
        'join',
        '--url',
        ready.joinUrl,
        '--secret',
        secret,
        '--instance-id',
        emulator.instanceId,
        '--contact-id',
        chat.contactId,
        '--bot',
        'echo',
        '--attribute',
        'lang=en',
      ]);
      expect(await joinCli.exit()).toBe(0);
      expect(JSON.parse(joinCli.stdout.join(''))).toMatchObject({ status: 'success', bot: 'echo' });

      emulator.say(chat.contactId, 'ping');
      await waitUntil(
        () =>
          emulator
            .transcript(chat.contactId)
            .some((i) => i.ParticipantRole === 'CUSTOM_BOT' && i.Content === 'ping'),
        'the echo',
      );

      host.child.kill('SIGTERM');
      expect(await host.exit()).toBe(0);
      expect(emulator.outcome(chat.contactId).wait).toMatchObject({
        result: 'BotParticipantDisconnected',
        attributes: { botShutdown: 'true' },
      });
      // Logs are JSON lines on stdout and never carry credentials.
      const logs = host.stdout.filter((line) => line.startsWith('{'));
      expect(logs.length).toBeGreaterThan(0);
      expect(logs.join('\n')).not.toContain(secret);
    }, 60_000);

    it('a second SIGTERM while it stops does not cut the stop short: the handler finishes, the chat is handed off, exit 0', async () => {
      const bots = join(dir, 'slow-bots');
      await mkdir(bots, { recursive: true });
      await writeFile(
        join(bots, 'slow.mjs'),
        `export default { name: 'slow', displayName: 'Slow', setup(bot) {
          bot.on('message', async (ctx) => {
            await ctx.reply('working');
            await new Promise((resolve) => setTimeout(resolve, 1500));
            await ctx.reply('done');
          });
        } };\n`,
      );
      const secret = 'cli-test-secret-0123456789';
      const file = join(dir, 'slow.json');
      await writeFile(
        file,
        JSON.stringify({
          aws: { endpoint: emulator.endpoint, region: emulator.region },
          join: { port: 0, secret },
          metrics: { enabled: false },
          bots: { dir: bots, default: 'slow' },
          log: { level: 'warn', pretty: false },
        }),
      );
      const host = runCli(['start', '--config', file], {
        env: { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' },
      });
      const ready = JSON.parse(
        (await host.line('connect-bot ready ')).slice('connect-bot ready '.length),
      ) as {
        joinUrl: string;
      };
      emulator.setFlow({ url: ready.joinUrl, secret });
      const chat = emulator.startChat();
      await waitUntil(() => emulator.outcome(chat.contactId).lambda?.status === 'succeeded', 'the join');
      emulator.say(chat.contactId, 'go');
      const said = (text: string) =>
        emulator
          .transcript(chat.contactId)
          .some((i) => i.ParticipantRole === 'CUSTOM_BOT' && i.Content === text);
      await waitUntil(() => said('working'), 'the handler to start');
      host.child.kill('SIGTERM');
      await waitUntil(
        () => host.stderr.some((l) => l.includes('SIGTERM received, shutting down')),
        'the stop',
      );
      host.child.kill('SIGTERM'); // an impatient operator, or a supervisor repeating the signal
      expect(await host.exit()).toBe(0);
      expect(host.stderr.some((l) => l.includes('SIGTERM received, still shutting down'))).toBe(true);
      expect(said('done')).toBe(true);
      expect(emulator.outcome(chat.contactId).wait).toMatchObject({ result: 'BotParticipantDisconnected' });
      emulator.setFlow(undefined);
    }, 60_000);

    it('`connect-bot join` exits 1 and prints the coded error when the host refuses', async () => {
      const cli = runCli([
        'join',
        '--url',
        'http://127.0.0.1:1/join',
        '--instance-id',
        'i',
        '--contact-id',
        'c',
      ]);
      expect(await cli.exit()).not.toBe(0);
      const usage = runCli(['join', '--instance-id', 'i']);
      expect(await usage.exit()).toBe(2);
      expect(usage.stderr.join('\n')).toContain('--contact-id is required');
    });
  });
});
