import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { runCli } from '../support/spawn.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'connect-bot-config-errors-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('configuration errors a person meets at start-up', () => {
  // Expected: a config file with a syntax error is reported by path and position, never echoing the file's text.
  // Before the fix: the message is V8's JSON.parse message, which for an "Unexpected token" quotes ~10 characters around
  // the error: a secret written with single quotes, unquoted, or from a template that was not filled in appears
  // on stderr (and so in CI/container logs). The brief/README: "Credentials never reach a log"; `join.secret` is
  // the host's one credential. Fault: src/config/load.ts readLayer(), `invalid JSON (${error.message})`.
  it('a JSON syntax error V8 gives a position for is reported by line and column', async () => {
    const file = join(dir, 'trailing-comma.json');
    await writeFile(file, '{\n  "join": { "port": 0, },\n}');
    const message = await loadConfig({ dir: '/nonexistent', env: {}, file }).then(
      () => 'accepted',
      (error: { message: string }) => error.message,
    );
    expect(message).toContain(
      `${file}: invalid JSON (Expected double-quoted property name at line 2, column 24)`,
    );
  });

  it('a --config file with a JSON syntax error does not print part of join.secret', async () => {
    const secret = 'TOPSECRETvalue0123456789';
    const file = join(dir, 'single-quoted.json');
    await writeFile(file, `{ "join": { "port": 0, "secret": '${secret}' } }`);
    const cli = runCli(['start', '--config', file], { env: { CONNECT_BOT_JOIN_SECRET: '' } });
    expect(await cli.exit()).toBe(2);
    const output = [...cli.stderr, ...cli.stdout].join('\n');
    expect(output).toContain('invalid JSON');
    expect(output).not.toContain(secret.slice(0, 8)); // actual: `Unexpected token ''', ..."secret": 'TOPSECRET"...`
  });

  // Expected: the CLI's report of an invalid configuration carries its stable code, as every other start-up
  // failure does ("connect-bot: CB_BOT_LOAD_FAILED: ..."), README "Errors": "Every error has a stable `code`;
  // branch on it, never on the message" (CB_CONFIG_INVALID: "Invalid configuration (start-up exits 2)").
  // Before the fix: "connect-bot: invalid configuration: ..." with no code; a supervisor can only match the English text.
  // Fault: src/cli.ts, the main().catch branch for ErrorCode.ConfigInvalid logs error.message only.
  it('an invalid configuration is reported with its code CB_CONFIG_INVALID', async () => {
    const file = join(dir, 'bad-type.json');
    await writeFile(file, JSON.stringify({ join: { port: 'eighty', secret: 'x'.repeat(20) } }));
    const cli = runCli(['start', '--config', file]);
    expect(await cli.exit()).toBe(2);
    expect(cli.stderr.join('\n')).toContain('join.port');
    expect(cli.stderr.join('\n')).toContain('CB_CONFIG_INVALID');
  });

  // Expected: a section of the wrong type in a config file is reported (README: the schema rejects wrong
  // types; an invalid configuration stops start-up with every problem listed). Before the fix: when any environment
  // variable sets a key of that section, the env layer replaces the file's non-object section wholesale, so
  // `"bots": ["faq", "handoff"]` (meant as "load these") is dropped silently and every bot is loaded.
  // Fault: src/config/load.ts merge(): a tree layered over a non-tree replaces it instead of being reported.
  it('a config section of the wrong type is reported even when an environment variable sets one of its keys', async () => {
    const file = join(dir, 'bots-array.json');
    await writeFile(file, JSON.stringify({ bots: ['faq', 'handoff'], join: { secret: 'x'.repeat(20) } }));
    const withoutEnv = await loadConfig({ dir: '/nonexistent', env: {}, file }).then(
      () => 'accepted',
      (e: { code: string }) => e.code,
    );
    expect(withoutEnv).toBe('CB_CONFIG_INVALID'); // holds
    const withEnv = await loadConfig({
      dir: '/nonexistent',
      env: { CONNECT_BOT_DEFAULT_BOT: 'faq' },
      file,
    }).then(
      (config) => `accepted: ${JSON.stringify(config.bots)}`,
      (e: { code: string }) => e.code,
    );
    expect(withEnv).toBe('CB_CONFIG_INVALID'); // actual: accepted: {"dir":"bots","default":"faq"}
  });

  // A secret no HTTP client can send back (a secret file's trailing newline, which fetch and Node's HTTP parser
  // strip from the header) is refused at load. Before the fix it loaded, and every join then got 401.
  it('a join.secret with a trailing newline or a space is refused at load', async () => {
    for (const secret of ['k8s-secret-from-file-0123456789\n', 'a secret with spaces 0123']) {
      const outcome = await loadConfig({
        dir: '/nonexistent',
        env: { CONNECT_BOT_JOIN_SECRET: secret },
      }).then(
        () => 'accepted',
        (error: { code: string; message: string }) => `${error.code} ${error.message}`,
      );
      expect(outcome).toContain('CB_CONFIG_INVALID');
      expect(outcome).toContain('join.secret: must be visible ASCII');
    }
  });
});
