import { Writable } from 'node:stream';
import { afterEach } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../src/emulator/index.js';
import { type RunningHost, startHost } from '../../src/host/start.js';
import { createLogger } from '../../src/observability/logger.js';
import { FAST_TIMINGS } from './harness.js';
import { dummyCredentials } from './sdk.js';

/** Collects a logger's JSON lines. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    for (const line of chunk.toString().split('\n')) if (line) this.lines.push(line);
    callback();
  }
  get text(): string {
    return this.lines.join('\n');
  }
  events(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export const SECRET = 'running-host-secret-0123456789';

/**
 * The production wiring (`startHost`: config, limiter, client, host, join endpoint, metrics and health) against
 * an emulator whose flow posts to it, with logs captured at `debug`.
 */
export async function runningHost(
  options: {
    config?: Record<string, unknown>;
    emulator?: EmulatorOptions;
    /** Run against this emulator (a second host, or a restart); its owner closes it. */
    on?: Emulator;
  } = {},
): Promise<{ emulator: Emulator; running: RunningHost; logs: LogCapture }> {
  const emulator = options.on ?? (await startEmulator(options.emulator));
  const logs = new LogCapture();
  const logger = createLogger({ level: 'debug', destination: logs, pretty: false });
  const config = await loadConfig({
    dir: '/nonexistent',
    env: {},
    overrides: {
      aws: { endpoint: emulator.endpoint, region: emulator.region, retries: 4 },
      join: { port: 0, secret: SECRET },
      metrics: { port: 0 },
      session: FAST_TIMINGS,
      ...options.config,
    },
  });
  const running = await startHost(config, { logger, credentials: dummyCredentials });
  emulator.setFlow({ url: running.joinUrl, secret: SECRET });
  cleanups.push(async () => {
    await running.stop();
    if (!options.on) await emulator.close();
  });
  return { emulator, running, logs };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Scrapes `/metrics` and parses the Prometheus text format into `name{labels}` → value. */
export async function scrape(metricsUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}
