import { describe, expect, it } from 'vitest';
import { ConnectBotError, ErrorCode, type SessionTimings } from '../../src/index.js';
import { setup } from '../support/harness.js';
import { nextEvent } from '../support/wait.js';

/** A chat's join through a proxy that can take fields out of the service's answers. */
async function joinBehindProxy(
  options: { connectionExpiryMs?: number; timings?: Partial<SessionTimings> } = {},
) {
  const { emulator, client, proxy } = await setup({
    proxy: true,
    emulator: options.connectionExpiryMs
      ? { timings: { connectionExpiryMs: options.connectionExpiryMs } }
      : {},
    client: { timings: options.timings ?? {} },
  });
  const chat = emulator.startChat();
  const join = () =>
    client.join({ instanceId: emulator.instanceId, contactId: chat.contactId, displayName: 'Bot' });
  return { emulator, proxy: proxy!, join };
}

describe('an answer without the fields asked for (CB_BAD_RESPONSE)', () => {
  it('a CreateParticipantConnection with no websocket URL is retried, never opened as a socket', async () => {
    const { emulator, proxy, join } = await joinBehindProxy();
    // The join's own connection and the next one lack the URL; the third has it.
    proxy.strip('/participant/connection', 'Websocket', 2);
    const session = await join();
    expect(session.state).toBe('open');
    expect(emulator.calls.count('CreateParticipantConnection')).toBe(3);
  });

  it('a CreateParticipantConnection with no ConnectionToken is retried too', async () => {
    const { emulator, proxy, join } = await joinBehindProxy();
    proxy.strip('/participant/connection', 'ConnectionCredentials', 2);
    const session = await join();
    expect(session.state).toBe('open');
    expect(emulator.calls.count('CreateParticipantConnection')).toBe(3);
  });

  it("a rotation's CreateParticipantConnection with no websocket URL is CB_BAD_RESPONSE, and retried", async () => {
    const { proxy, join } = await joinBehindProxy({
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

  it('a join whose first answer had no ConnectionToken, then fails to open, still leaves (with the fresh token)', async () => {
    const { emulator, proxy, join } = await joinBehindProxy({ timings: { subscribeResends: 0 } });
    proxy.strip('/participant/connection', 'ConnectionCredentials', 1);
    emulator.faults.subscribeAcks(undefined, { drop: 50 }); // every socket goes unacknowledged: the start fails
    await expect(join()).rejects.toMatchObject({ code: 'CB_SUBSCRIBE_FAILED' });
    // The leave went out before the join rejected: nobody holds the bot, and the flow must not wait on it.
    expect(emulator.calls.count('DisconnectParticipant')).toBe(1);
  });

  it('a CreateParticipant with no credentials fails the join with CB_BAD_RESPONSE', async () => {
    const { proxy, join } = await joinBehindProxy();
    proxy.strip('/contact/create-participant', 'ParticipantCredentials', 1);
    const error = await join().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectBotError);
    expect((error as ConnectBotError).code).toBe(ErrorCode.BadResponse);
  });
});
