import { describe, expect, it, onTestFinished } from 'vitest';
import type { ChatSession, SessionState } from '../../src/index.js';
import { Scheduler } from '../../src/index.js';
import { joinedChat, setup } from '../support/harness.js';
import { nextEvent, waitUntil } from '../support/wait.js';

/** Everything a session announces after its `ended` event: there must be nothing. */
function afterEnd(session: ChatSession) {
  const seen: string[] = [];
  let ended = false;
  // A revived session is no longer in client.sessions, so the harness's closeAll() would miss it.
  onTestFinished(() => session.close());
  session.on('ended', () => {
    ended = true;
  });
  session.on('state', (state: SessionState, previous: SessionState) => {
    if (ended || previous === 'ended') seen.push(`state ${previous}->${state}`);
  });
  session.on('error', (error) => ended && seen.push(`error ${error.code}`));
  session.on('rotated', () => ended && seen.push('rotated'));
  session.on('reconnecting', (reason) => ended && seen.push(`reconnecting ${reason}`));
  return seen;
}

/** An absence cannot be awaited: wait this long for what a bug would do within a few ms (FAST_TIMINGS). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));

describe("end() from inside the session's own notifications", () => {
  it("close() in a 'reconnecting' listener: the session stays ended, opens no socket and emits nothing", async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const late = afterEnd(session);
    session.on('reconnecting', () => session.close());
    const opened = emulator.gateway.opened.get(session.participantId)!;
    const ended = nextEvent(session, 'ended', () => true, 5000);
    emulator.faults.dropSockets(bot, 'abrupt');
    expect((await ended)[0]).toBe('closed');
    await settle();
    expect(late).toEqual([]);
    expect(session.state).toBe('ended');
    expect(emulator.gateway.opened.get(session.participantId)).toBe(opened); // no reconnect after close()
    expect(emulator.sockets(bot)).toHaveLength(0);
  });

  it("close() in a client 'lifecycle' listener (reconnect): same, the session is not revived", async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const late = afterEnd(session);
    client.on('lifecycle', (s, event) => event === 'reconnect' && s.close());
    const ended = nextEvent(session, 'ended', () => true, 5000);
    emulator.faults.dropSockets(bot, 'abrupt');
    await ended;
    await settle();
    expect(late).toEqual([]);
    expect(session.ended).toBe(true);
    expect(emulator.sockets(bot)).toHaveLength(0);
  });

  it("close() in a 'rotated' listener: the session stays ended and never rotates or opens a socket again", async () => {
    const { emulator, client } = await setup({
      emulator: { timings: { connectionExpiryMs: 1500 } },
      client: { timings: { rotationMarginMs: 1000 } }, // first rotation ~500 ms after the join, then every ~500 ms
    });
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const late = afterEnd(session);
    session.once('rotated', () => session.close());
    const ended = nextEvent(session, 'ended', () => true, 5000);
    await ended;
    const opened = emulator.gateway.opened.get(session.participantId)!;
    await settle();
    expect(late).toEqual([]);
    expect(session.ended).toBe(true);
    expect(client.sessions.has(session)).toBe(false);
    expect(emulator.gateway.opened.get(session.participantId)).toBe(opened);
    await waitUntil(() => emulator.sockets(bot).length === 0, 'no bot socket left', 3000);
  });

  it("close() in a 'state' listener as a rotation starts: no CreateParticipantConnection goes out after the end", async () => {
    const { emulator, client } = await setup({
      emulator: { timings: { connectionExpiryMs: 1500 } },
      client: { timings: { rotationMarginMs: 1000 } },
    });
    const { session } = await joinedChat(emulator, client);
    const calls = () =>
      emulator.calls.count('CreateParticipantConnection', { participantId: session.participantId });
    let atEnd = -1;
    session.on('state', (state) => {
      if (state !== 'rotating') return;
      session.close();
      atEnd = calls();
    });
    await nextEvent(session, 'ended', () => true, 5000);
    await settle();
    expect(calls()).toBe(atEnd);
  });

  it("close() in a 'state' listener when a reconnect opens: no task is left in the scheduler", async () => {
    const scheduler = new Scheduler();
    const { emulator, client } = await setup({ client: { scheduler } });
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const late = afterEnd(session);
    session.on('state', (state, previous) => {
      if (state === 'open' && previous === 'reconnecting') session.close();
    });
    const ended = nextEvent(session, 'ended', () => true, 5000);
    emulator.faults.dropSockets(bot, 'abrupt');
    await ended;
    await waitUntil(() => emulator.sockets(bot).length === 0, 'no bot socket left', 3000);
    // The close handshake cancels the socket's own kill task; a rotation task is due only in ~59 min.
    await waitUntil(() => scheduler.size === 0, 'an empty scheduler', 3000).catch(() => undefined);
    expect({ tasks: scheduler.size, late }).toEqual({ tasks: 0, late: [] });
  });

  it("close() in an 'error' listener for CB_INVALID_EXPIRY: no refresh task is left behind", async () => {
    const scheduler = new Scheduler();
    const { emulator, client } = await setup({ client: { scheduler, timings: { urlMaxAgeMs: 1 } } });
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    // The reconnect's CreateParticipantConnection carries no Expiry: CB_INVALID_EXPIRY, and the listener closes.
    emulator.faults.malformExpiries(bot, { expiry: null });
    session.on('error', (error) => error.code === 'CB_INVALID_EXPIRY' && session.close());
    const ended = nextEvent(session, 'ended', () => true, 5000);
    emulator.faults.dropSockets(bot, 'abrupt');
    await ended;
    await waitUntil(() => scheduler.size === 0, 'an empty scheduler', 3000).catch(() => undefined);
    expect(scheduler.size).toBe(0); // a refresh task 60 s out would hold the session after its end
  });

  it("close() in a 'tokenRefreshed' listener: the client hears no 'lifecycle' after 'sessionEnded'", async () => {
    const { emulator, client } = await setup({
      emulator: { timings: { connectionTokenTtlMs: 1500 } },
      client: { timings: { tokenRefreshMarginMs: 1000 } }, // a refresh ~500 ms after the join
    });
    const { session } = await joinedChat(emulator, client);
    const events: string[] = [];
    client.on('sessionEnded', (s) => s === session && events.push('sessionEnded'));
    client.on('lifecycle', (s, event) => s === session && events.push(`lifecycle ${event}`));
    session.once('tokenRefreshed', () => session.close());
    await nextEvent(session, 'ended', () => true, 5000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['sessionEnded']);
  });
});
