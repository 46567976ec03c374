import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/spawn.js';
import { waitUntil } from '../support/wait.js';

/** A stack trace line, which README promises only for bugs ("a stack trace only when the cause is code"). */
const STACK_LINE = /^\s+at .+[:(]/m;

describe('npm start: bad environment and arguments', () => {
  it('an invalid CONNECT_BOT_PLAYGROUND_PORT is a usage/config error (exit 2, names the variable), not a RangeError stack', async () => {
    const cli = runCli(['playground'], { env: { CONNECT_BOT_PLAYGROUND_PORT: 'abc' } });
    const code = await cli.exit();
    const stderr = cli.stderr.join('\n');
    expect(stderr).not.toMatch(STACK_LINE);
    expect(stderr).toContain('CONNECT_BOT_PLAYGROUND_PORT');
    expect(code).toBe(2);
  });

  it('an invalid CONNECT_BOT_LOG_LEVEL is refused like `connect-bot start` refuses it (exit 2, no pino stack)', async () => {
    const cli = runCli(['playground'], { env: { CONNECT_BOT_LOG_LEVEL: 'loud' } });
    const code = await cli.exit();
    const stderr = cli.stderr.join('\n');
    expect(stderr).not.toMatch(STACK_LINE);
    expect(code).toBe(2);
  });

  it('an empty CONNECT_BOT_LOG_LEVEL is unset, as `connect-bot start` reads it (what `docker run -e NAME` gives)', async () => {
    const cli = runCli(['playground'], { env: { CONNECT_BOT_LOG_LEVEL: '' } });
    try {
      const outcome = await Promise.race([
        cli.exit().then((code) => ({ exited: code, stderr: cli.stderr.join('\n') })),
        cli.line('connect-bot ready ').then(() => 'ready' as const),
      ]);
      expect(outcome).toBe('ready');
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exit();
    }
  });

  it('`connect-bot playground --port 5` is a usage error, not silently ignored', async () => {
    const cli = runCli(['playground', '--port', '5']);
    // Either it refuses at once (exit 2), or it starts and has ignored the option: stop it then.
    const outcome = await Promise.race([
      cli.exit().then((code) => ({ code })),
      cli.line('connect-bot ready ').then((line) => ({ line })),
    ]);
    if ('line' in outcome) {
      cli.child.kill('SIGTERM');
      await cli.exit();
    }
    expect(outcome).toEqual({ code: 2 });
  }, 30_000);

  it('a pinned CONNECT_BOT_PLAYGROUND_PORT already in use: exit 1, one clear line, no stack', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const cli = runCli(['playground'], { env: { CONNECT_BOT_PLAYGROUND_PORT: String(port) } });
      expect(await cli.exit()).toBe(1);
      const stderr = cli.stderr.join('\n');
      expect(stderr).toContain('EADDRINUSE');
      expect(stderr).not.toMatch(STACK_LINE);
    } finally {
      blocker.close();
    }
  });
});

describe('npm start: SIGINT with live chats', () => {
  it('hands the live chat off and exits 0', async () => {
    const cli = runCli(['playground']);
    try {
      const ready = JSON.parse((await cli.line('connect-bot ready ')).slice('connect-bot ready '.length)) as {
        endpoint: string;
        playgroundUrl: string;
      };
      const chat = (await (
        await fetch(`${ready.endpoint}/_emulator/chats`, {
          method: 'POST',
          body: JSON.stringify({ attributes: { bot: 'faq' } }),
        })
      ).json()) as { contactId: string };
      await waitUntil(async () => {
        const state = (await (await fetch(new URL('/api/state', ready.playgroundUrl))).json()) as {
          chatsHeld: number;
        };
        return state.chatsHeld === 1;
      }, 'the bot to hold the chat');
      expect(chat.contactId).toBeTruthy();
      cli.child.kill('SIGINT');
      expect(await cli.exit()).toBe(0);
      expect(cli.stdout.join('\n')).toMatch(
        /"event":"stopped","chats":1,"unfinished":0,"overdue":0,"mode":"handoff"/,
      );
    } finally {
      cli.child.kill('SIGKILL');
    }
  }, 60_000);
});
