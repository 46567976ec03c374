import { randomBytes } from 'node:crypto';
import { loadConfig } from '../config/load.js';
import { type Emulator, startEmulator } from '../emulator/index.js';
import { type RunningHost, startHost } from '../host/start.js';
import type { Logger } from '../observability/log-types.js';

export interface LocalStack {
  emulator: Emulator;
  running: RunningHost;
  /** The facts scripts and tests need, printed on the `connect-bot ready` line. */
  ready: {
    endpoint: string;
    region: string;
    instanceId: string;
    contactFlowId: string;
    joinUrl: string;
    metricsUrl?: string;
  };
  stop(): Promise<void>;
}

/** Local stand-in credentials: the emulator accepts any SigV4 signature. */
const EMULATOR_CREDENTIALS = { accessKeyId: 'local-emulator', secretAccessKey: 'local-emulator' };

/**
 * Everything `npm start` runs, without AWS: the emulator with its contact-flow simulation pointed at the
 * host's join endpoint, and the host with the bots in `bots/`. A chat whose attributes carry `bot` gets that
 * bot; others get the configured default.
 */
export async function startLocalStack(options: {
  logger: Logger;
  emulatorPort?: number;
  joinPort?: number;
  metricsPort?: number;
}): Promise<LocalStack> {
  const secret = randomBytes(24).toString('base64url');
  const emulator = await startEmulator({
    port: options.emulatorPort ?? 0,
    log: (message) => options.logger.debug({ component: 'emulator' }, message),
  });
  const config = await loadConfig({
    overrides: {
      aws: { endpoint: emulator.endpoint, region: emulator.region },
      join: { port: options.joinPort ?? 0, secret },
      metrics: { port: options.metricsPort ?? 0 },
    },
  }).catch(async (error: unknown) => {
    await emulator.close();
    throw error;
  });
  let running: RunningHost;
  try {
    running = await startHost(config, { logger: options.logger, credentials: EMULATOR_CREDENTIALS });
  } catch (error) {
    await emulator.close();
    throw error;
  }
  emulator.setFlow({ url: running.joinUrl, secret });
  return {
    emulator,
    running,
    ready: {
      endpoint: emulator.endpoint,
      region: emulator.region,
      instanceId: emulator.instanceId,
      contactFlowId: emulator.contactFlowId,
      joinUrl: running.joinUrl,
      ...(running.metricsUrl ? { metricsUrl: running.metricsUrl } : {}),
    },
    async stop() {
      await running.stop();
      await emulator.close();
    },
  };
}
