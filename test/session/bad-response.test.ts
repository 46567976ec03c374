import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import { ChatClient, ConnectBotError, ErrorCode, type SessionTimings } from '../../src/index.js';
import { FAST_TIMINGS } from '../support/harness.js';
import { dummyCredentials } from '../support/sdk.js';
import { nextEvent } from '../support/wait.js';

/**
 * A proxy in front of the emulator's API that takes `field` out of the next `count` CreateParticipantConnection
 * answers (or of CreateParticipant's): a service that answers 200 without what was asked for.
 */
async function strippingProxy(target: string) {
  const rules: Array<{ path: string; field: string; count: number }> = [];
  const server = createServer((req, res) => {
    const upstream = request(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          let body = Buffer.concat(chunks);
          const rule = rules.find((r) => r.count > 0 && req.url?.startsWith(r.path));
          if (rule && answer.statusCode === 200) {
            rule.count--;
            const json = JSON.parse(body.toString()) as Record<string, unknown>;
            delete json[rule.field];
            body = Buffer.from(JSON.stringify(json));
          }
          const headers = { ...answer.headers, 'content-length': String(body.length) };
          res.writeHead(answer.statusCode ?? 502, headers).end(body);
        });
      },
    );
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    strip: (path: string, field: string, count: number) => rules.push({ path, field, count }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setupBehindProxy(
  options: { connectionExpiryMs?: number; timings?: Partial<SessionTimings> } = {},
) {
  const emulator = await startEmulator(
    options.connectionExpiryMs ? { timings: { connectionExpiryMs: options.connectionExpiryMs } } : {},
  );
  const proxy = await strippingProxy(emulator.endpoint);
  const client = new ChatClient({
    region: emulator.region,
    endpoint: proxy.endpoint,
    credentials: dummyCredentials,
    retry: { minDelayMs: 20, maxDelayMs: 200 },
    timings: { ...FAST_TIMINGS, ...options.timings },
  });
  cleanups.push(
    () => emulator.close(),
    proxy.close,
    () => client.closeAll(),
  );
  const chat = emulator.startChat();
  const join = () =>
    client.join({ instanceId: emulator.instanceId, contactId: chat.contactId, displayName: 'Bot' });
  return { emulator, proxy, client, chat, join };
}

describe('an answer without the fields asked for (CB_BAD_RESPONSE)', () => {
  it('a CreateParticipantConnection with no websocket URL is retried, never opened as a socket', async () => {
    const { emulator, proxy, join } = await setupBehindProxy();
    // The join's own connection and the next one lack the URL; the third has it.
    proxy.strip('/participant/connection', 'Websocket', 2);
    const session = await join();
    expect(session.state).toBe('open');
    expect(emulator.calls.count('CreateParticipantConnection')).toBe(3);
  });

  it('a CreateParticipantConnection with no ConnectionToken is retried too', async () => {
    const { emulator, proxy, join } = await setupBehindProxy();
    proxy.strip('/participant/connection', 'ConnectionCredentials', 2);
    const session = await join();
    expect(session.state).toBe('open');
    expect(emulator.calls.count('CreateParticipantConnection')).toBe(3);
  });

  it("a rotation's CreateParticipantConnection with no websocket URL is CB_BAD_RESPONSE, and retried", async () => {
    const { proxy, join } = await setupBehindProxy({
      connectionExpiryMs: 3000,
      timings: { rotationMarginMs: 1000, urlMaxAgeMs: 100 },
    });
    const session = await join();
    proxy.strip('/participant/connection', 'Websocket', 1);
    const [error] = await nextEvent(session, 'error', () => true, 8000);
    expect(error).toBeInstanceOf(ConnectBotError); // it was a TypeError: the socket was opened on no URL
    expect(error.code).toBe(ErrorCode.BadResponse);
    await nextEvent(session, 'rotated', () => true, 8000);
    expect(session.stats.rotations).toBe(1);
  });

  it('a CreateParticipant with no credentials fails the join with CB_BAD_RESPONSE', async () => {
    const { proxy, join } = await setupBehindProxy();
    proxy.strip('/contact/create-participant', 'ParticipantCredentials', 1);
    const error = await join().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectBotError);
    expect((error as ConnectBotError).code).toBe(ErrorCode.BadResponse);
  });
});
