import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';

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
});
