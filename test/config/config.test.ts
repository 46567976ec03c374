import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type LoadConfigOptions, loadConfig } from '../../src/config/index.js';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function configDir(files: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'connect-bot-config-'));
  dirs.push(dir);
  await mkdir(join(dir, 'config'));
  for (const [name, content] of Object.entries(files)) {
    await writeFile(
      join(dir, 'config', name),
      typeof content === 'string' ? content : JSON.stringify(content),
    );
  }
  return dir;
}

const secret = { join: { secret: 'x'.repeat(16) } };

/** The error `loadConfig` rejects with, or `{ code: 'none' }` when it accepts the configuration. */
function configError(options: LoadConfigOptions): Promise<{ code: string; message: string }> {
  return loadConfig({ dir: '/nonexistent', env: {}, ...options }).then(
    () => ({ code: 'none', message: '' }),
    (e: unknown) => e as { code: string; message: string },
  );
}

describe('loadConfig', () => {
  it('layers defaults, default.json, <env>.json, --config and environment variables, in that order', async () => {
    const dir = await configDir({
      'default.json': {
        join: { port: 1000, secret: 'from-default-json-secret' },
        handlers: { timeoutMs: 1 },
      },
      'staging.json': { join: { port: 2000 }, log: { level: 'warn' } },
    });
    const extra = join(dir, 'extra.json');
    await writeFile(extra, JSON.stringify({ join: { port: 3000 }, shutdown: { onShutdown: 'keep' } }));
    const config = await loadConfig({
      dir: join(dir, 'config'),
      file: extra,
      env: {
        CONNECT_BOT_ENV: 'staging',
        CONNECT_BOT_JOIN_PORT: '4000',
        AWS_REGION: 'eu-west-1',
        CONNECT_BOT_QUOTAS_ENABLED: 'false',
      },
    });
    expect(config.join).toMatchObject({ port: 4000, secret: 'from-default-json-secret', host: '127.0.0.1' });
    expect(config.handlers).toEqual({ timeoutMs: 1, maxQueueDepth: 100, concurrency: 500 });
    expect(config.log.level).toBe('warn');
    expect(config.shutdown.onShutdown).toBe('keep');
    expect(config.aws.region).toBe('eu-west-1');
    expect(config.quotas.enabled).toBe(false);
    expect(config.aws.endpoint).toBeUndefined(); // real AWS unless overridden
  });

  it('prefers CONNECT_BOT_REGION over AWS_REGION', async () => {
    const config = await loadConfig({
      dir: '/nonexistent',
      env: {
        AWS_REGION: 'eu-west-1',
        CONNECT_BOT_REGION: 'ap-southeast-2',
        CONNECT_BOT_JOIN_SECRET: 'x'.repeat(16),
      },
    });
    expect(config.aws.region).toBe('ap-southeast-2');
  });

  it('lists every problem at once as CB_CONFIG_INVALID', async () => {
    const dir = await configDir({ 'default.json': '{ not json' });
    const error = await loadConfig({
      dir: join(dir, 'config'),
      env: { CONNECT_BOT_METRICS_PORT: '99999' },
      overrides: {
        aws: { endpoint: 'not a url' },
        join: { secret: 'short' },
        session: { dedupeWindow: 8 },
      },
    }).then(
      () => ({ code: 'none', message: '' }),
      (e: unknown) => e as { code: string; message: string },
    );
    expect(error.code).toBe('CB_CONFIG_INVALID');
    expect(error.message).toContain('default.json: invalid JSON');
    expect(error.message).toContain('metrics.port');
    expect(error.message).toContain('aws.endpoint');
    expect(error.message).toContain('join.secret: must be at least 16 characters');
    expect(error.message).toContain('session.dedupeWindow');
  });

  it('reads an environment value as the type its key expects, not by how it looks', async () => {
    const config = await loadConfig({
      dir: '/nonexistent',
      env: {
        CONNECT_BOT_JOIN_SECRET: '12345678901234567890',
        CONNECT_BOT_DEFAULT_BOT: 'true',
        CONNECT_BOT_JOIN_PORT: '4000',
        CONNECT_BOT_QUOTAS_ENABLED: 'false',
      },
    });
    expect(config.join.secret).toBe('12345678901234567890');
    expect(config.bots.default).toBe('true');
    expect(config.join.port).toBe(4000);
    expect(config.quotas.enabled).toBe(false);
  });

  it('rejects a quotas.rates bucket that does not exist, naming the known ones', async () => {
    const error = await configError({
      overrides: { ...secret, quotas: { rates: { SendMessage: { rate: 1, burst: 1 } } } },
    });
    expect(error.code).toBe('CB_CONFIG_INVALID');
    expect(error.message).toContain('quotas.rates.SendMessage: unknown quota bucket');
    expect(error.message).toContain('SendMessageOrEvent, CreateParticipantConnection, GetTranscript');
    const config = await loadConfig({
      dir: '/nonexistent',
      env: {},
      overrides: { ...secret, quotas: { rates: { SendMessageOrEvent: { rate: 20, burst: 30 } } } },
    });
    expect(config.quotas.rates).toEqual({ SendMessageOrEvent: { rate: 20, burst: 30 } });
  });

  it('rejects a quotas.rates burst below 1', async () => {
    const error = await configError({
      overrides: { ...secret, quotas: { rates: { SendMessageOrEvent: { rate: 10, burst: 0.5 } } } },
    });
    expect(error.code).toBe('CB_CONFIG_INVALID');
    expect(error.message).toContain('quotas.rates.SendMessageOrEvent.burst: must be at least 1');
  });

  it('caps millisecond options at 2147483647 ms, the longest Node timer', async () => {
    const error = await configError({
      env: { CONNECT_BOT_DRAIN_TIMEOUT_MS: String(2 ** 31) },
      overrides: { ...secret, handlers: { timeoutMs: 2 ** 31 }, session: { heartbeatIntervalMs: 2 ** 31 } },
    });
    expect(error.code).toBe('CB_CONFIG_INVALID');
    for (const key of ['handlers.timeoutMs', 'shutdown.drainTimeoutMs', 'session.heartbeatIntervalMs']) {
      expect(error.message).toContain(`${key}: must be at most 2147483647 ms`);
    }
    const config = await loadConfig({
      dir: '/nonexistent',
      env: {},
      overrides: { ...secret, handlers: { timeoutMs: 2 ** 31 - 1 } },
    });
    expect(config.handlers.timeoutMs).toBe(2 ** 31 - 1);
  });

  it('refuses an aws.endpoint that is not http(s)://', async () => {
    const error = await configError({ overrides: { ...secret, aws: { endpoint: 'localhost:4566' } } });
    expect(error).toMatchObject({
      code: 'CB_CONFIG_INVALID',
      message: expect.stringContaining('aws.endpoint'),
    });
  });

  it('says why a --config file cannot be read', async () => {
    const dir = await configDir({});
    expect(await configError({ file: join(dir, 'missing.json'), overrides: secret })).toMatchObject({
      code: 'CB_CONFIG_INVALID',
      message: expect.stringContaining('missing.json: cannot be read (no such file)'),
    });
    expect(await configError({ file: join(dir, 'config'), overrides: secret })).toMatchObject({
      message: expect.stringContaining('cannot be read (a folder)'),
    });
  });

  it('names the environment variable whose value does not fit', async () => {
    const error = await configError({
      env: { CONNECT_BOT_JOIN_PORT: '8080 ', CONNECT_BOT_JOIN_SECRET: 'x'.repeat(16) },
    });
    expect(error).toMatchObject({
      code: 'CB_CONFIG_INVALID',
      message: expect.stringMatching(/join\.port: .* \(from CONNECT_BOT_JOIN_PORT\)/),
    });
  });

  it('CONNECT_BOT_ENV names a file that must exist; NODE_ENV names one that may; empty means unset', async () => {
    const dir = await configDir({
      'default.json': secret,
      'production.example.json': { aws: { region: 'eu-west-2' } },
      'staging.json': { log: { level: 'warn' } },
    });
    const configFolder = join(dir, 'config');
    expect(await configError({ dir: configFolder, env: { CONNECT_BOT_ENV: 'production' } })).toMatchObject({
      code: 'CB_CONFIG_INVALID',
      message: expect.stringContaining('production.json: cannot be read (no such file)'),
    });
    expect(await configError({ dir: configFolder, env: { NODE_ENV: 'production' } })).toMatchObject({
      code: 'none',
    });
    const config = await loadConfig({ dir: configFolder, env: { CONNECT_BOT_ENV: '', NODE_ENV: 'staging' } });
    expect(config.log.level).toBe('warn');
    expect(await configError({ dir: configFolder, env: { CONNECT_BOT_ENV: '../staging' } })).toMatchObject({
      message: expect.stringContaining('CONNECT_BOT_ENV: "../staging" is not a config file name'),
    });
  });

  it('refuses shutdown.handoffAttributes that Connect would refuse at every shutdown', async () => {
    const error = await configError({
      overrides: { ...secret, shutdown: { handoffAttributes: { 'bot shutdown': 'true' } } },
    });
    expect(error).toMatchObject({
      code: 'CB_CONFIG_INVALID',
      message: expect.stringContaining('shutdown.handoffAttributes: attribute key "bot shutdown"'),
    });
  });

  it('a "__proto__" key is an unknown key, not a way past the checks', async () => {
    // Merged into default.json's `log`, an assigned "__proto__" would set the prototype and pass as no key at all.
    const dir = await configDir({
      'default.json': { ...secret, log: { level: 'warn' } },
      'staging.json': '{"log": {"__proto__": {"bogus": 1}}}',
    });
    expect(await configError({ dir: join(dir, 'config'), env: { NODE_ENV: 'staging' } })).toMatchObject({
      code: 'CB_CONFIG_INVALID',
      message: expect.stringContaining('__proto__'),
    });
  });

  it('reads a file that starts with a byte order mark', async () => {
    const dir = await configDir({
      'default.json': `\ufeff${JSON.stringify({ ...secret, log: { level: 'warn' } })}`,
    });
    expect((await loadConfig({ dir: join(dir, 'config'), env: {} })).log.level).toBe('warn');
  });
});
