import { afterEach, describe, expect, it } from 'vitest';
import { runCli, type Spawned } from '../support/spawn.js';

const spawned: Spawned[] = [];
afterEach(async () => {
  for (const cli of spawned.splice(0)) {
    if (cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGTERM');
      await cli.exit().catch(() => undefined);
    }
  }
});

/** Exit code, or 'running' once it printed its ready line (`{"endpoint"...}`) instead of exiting. */
function exitOrReady(cli: Spawned): Promise<number | null | 'running'> {
  return Promise.race([cli.exit(20_000), cli.line('{', 20_000).then(() => 'running' as const)]);
}

describe('CLI arguments a script gets wrong', () => {
  // Expected: `--on-chat-start` is a URL the emulator POSTs to; a value that is not an http(s) URL is a usage
  // error (exit 2), as `connect-bot join --url` is ("--url ... must be an http(s) URL", exit 2; README: "2 on a
  // usage error"). Before the fix: the emulator starts and prints its ready line; every chat then fails its simulated
  // Lambda ("flow lambda ... failed: Failed to parse URL") so the bot never joins, found only per chat.
  // Fault: src/cli.ts emulatorCommand(): `values['on-chat-start']` is passed on unchecked.
  it('`connect-bot emulator --on-chat-start not-a-url` is a usage error, not a running emulator', async () => {
    const cli = runCli(['emulator', '--on-chat-start', 'not-a-url']);
    spawned.push(cli);
    expect(await exitOrReady(cli)).toBe(2); // actual: 'running'
  });

  // Expected: an empty CONNECT_BOT_JOIN_URL counts as unset and the documented default
  // http://127.0.0.1:8080/join is used (USAGE: "default $CONNECT_BOT_JOIN_URL or http://127.0.0.1:8080/join";
  // the codebase's rule, README Configuration and cli.ts playgroundCommand: "an empty variable counts as unset",
  // what `docker run -e NAME` gives). Before the fix: `??` keeps the empty string, and the command dies with the usage
  // error "--url (or CONNECT_BOT_JOIN_URL) must be an http(s) URL: " (exit 2) without trying the default.
  // Fault: src/cli.ts joinCommand(): `values.url ?? process.env.CONNECT_BOT_JOIN_URL ?? ...` (use `||`).
  it('`connect-bot join` with an empty CONNECT_BOT_JOIN_URL falls back to the default URL', async () => {
    const cli = runCli(['join', '--instance-id', 'i', '--contact-id', 'c', '--timeout-ms', '3000'], {
      env: { CONNECT_BOT_JOIN_URL: '' },
    });
    spawned.push(cli);
    await cli.exit();
    // With the default URL it tries 127.0.0.1:8080 (unreachable or answering): never the usage error.
    expect(cli.stderr.join('\n')).not.toContain('must be an http(s) URL');
  });

  // Expected: `--config ""` (what `--config "$CONFIG_FILE"` gives when the variable is unset) names a file that
  // cannot be read: exit 2 like any --config file that cannot be read (loadConfig: "<path>: cannot be read";
  // README: the --config file is one of the layers, an invalid configuration exits 2). Before the fix: the empty value
  // is falsy, the option is dropped, and the host starts on defaults + environment (real AWS, port from
  // default.json) as if no file had been asked for. Fault: src/cli.ts startCommand():
  // `values.config ? { file: values.config } : {}` (test `!== undefined`, and refuse an empty path).
  it('`connect-bot start --config ""` is refused, not run without the file', async () => {
    const cli = runCli(['start', '--config', ''], {
      env: {
        CONNECT_BOT_JOIN_SECRET: 'x'.repeat(32),
        CONNECT_BOT_JOIN_PORT: '0',
        CONNECT_BOT_METRICS_PORT: '0',
        CONNECT_BOT_ENDPOINT: 'http://127.0.0.1:9',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      },
    });
    spawned.push(cli);
    const outcome = await Promise.race([
      cli.exit(20_000),
      cli.line('connect-bot ready ', 20_000).then(() => 'running' as const),
    ]);
    expect(outcome).toBe(2); // actual: 'running'
  });
});
