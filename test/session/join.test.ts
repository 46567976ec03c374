import { describe, expect, it } from 'vitest';
import { ChatClient, ConnectBotError, ErrorCode } from '../../src/index.js';
import { FAST_TIMINGS, joinedChat, setup } from '../support/harness.js';
import { dummyCredentials } from '../support/sdk.js';
import { nextEvent, waitUntil } from '../support/wait.js';

/**
 * A join whose CreateParticipantConnection always fails (500) in a `windowMs` join window, after
 * `createFailures` failed CreateParticipant calls: the error, how long the join took, and the chat.
 */
async function joinThatMissesTheWindow(windowMs: number, retryDelayMs: number, createFailures = 0) {
  const { emulator, client } = await setup({
    emulator: { timings: { botConnectWindowMs: windowMs } },
    client: {
      timings: { joinWindowMs: windowMs },
      retry: { retries: 50, minDelayMs: retryDelayMs, maxDelayMs: retryDelayMs },
    },
  });
  const chat = emulator.startChat();
  emulator.faults.failNext('CreateParticipant', { count: createFailures, status: 500 });
  emulator.faults.failNext('CreateParticipantConnection', { count: 1000, status: 500 });
  const started = performance.now();
  const error = (await client
    .join({ instanceId: emulator.instanceId, contactId: chat.contactId, displayName: 'Bot' })
    .catch((e: unknown) => e)) as ConnectBotError;
  return { emulator, client, chat, error, elapsed: performance.now() - started };
}

describe('ChatClient.join', () => {
  it('joins as CUSTOM_BOT, connects, and exchanges messages both ways', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    expect(session.state).toBe('open');
    const view = emulator.contact(chat.contactId);
    const bot = view.participants.find((p) => p.role === 'CUSTOM_BOT')!;
    expect(bot).toMatchObject({ displayName: 'Bot', state: 'connected', sockets: 1 });
    expect(emulator.sockets(bot.participantId)[0]!.subscribeFrames).toBe(1);

    emulator.say(chat.contactId, 'hello bot');
    await recorder.waitForMessages(1);
    expect(recorder.customerMessages()).toEqual(['hello bot']);
    expect(session.isOwn(recorder.items.find((i) => i.Content === 'hello bot')!)).toBe(false);

    const sent = await session.sendMessage('**hi**', { contentType: 'text/markdown' });
    await waitUntil(() => recorder.items.some((i) => i.Id === sent.id), 'own message echo');
    expect(session.isOwn(recorder.items.find((i) => i.Id === sent.id)!)).toBe(true);
    await session.sendEvent('typing');
    await session.setAttributes({ intent: 'billing' });
    expect(emulator.contact(chat.contactId).attributes).toEqual({ intent: 'billing' });
    const transcript = await session.getTranscript({ ScanDirection: 'BACKWARD', SortOrder: 'ASCENDING' });
    expect(transcript.Transcript?.map((i) => i.Id)).toContain(sent.id);
  });

  it('does not deliver history from before the bot joined, but everything after', async () => {
    const { emulator, client } = await setup();
    const chat = emulator.startChat({ initialMessage: 'I was here first' });
    const session = await client.join({
      instanceId: emulator.instanceId,
      contactId: chat.contactId,
      displayName: 'Bot',
    });
    const seen: string[] = [];
    session.on('message', (item) => seen.push(item.Content ?? ''));
    emulator.say(chat.contactId, 'after join');
    await waitUntil(() => seen.length === 1, 'message after join');
    expect(seen).toEqual(['after join']);
  });

  it('fails with CB_JOIN_WINDOW_MISSED when CreateParticipantConnection cannot complete in the window', async () => {
    const { emulator, client, chat, error, elapsed } = await joinThatMissesTheWindow(800, 150);
    // It gives up when the window closes, not after its 50 retries.
    expect(elapsed).toBeLessThan(800 + 500);
    expect(error).toBeInstanceOf(ConnectBotError);
    expect(error.code).toBe(ErrorCode.JoinWindowMissed);
    expect(error.cause).toMatchObject({ code: ErrorCode.ApiRefused, status: 500 });
    expect(client.sessions.size).toBe(0);
    // The service removes a bot that never connected.
    await waitUntil(
      () =>
        emulator.contact(chat.contactId).participants.find((p) => p.role === 'CUSTOM_BOT')?.state === 'left',
      'bot removed by the service',
    );
  });

  it('counts the join window from the start of CreateParticipant, whose retries use it up too', async () => {
    // About 900 ms of retries before CreateParticipant succeeds, then CreateParticipantConnection keeps failing.
    const { emulator, error, elapsed } = await joinThatMissesTheWindow(1000, 300, 3);
    expect(error.code).toBe(ErrorCode.JoinWindowMissed);
    // About 1.2 s (the window and one more retry delay); counted from CreateParticipant's end, about 2.1 s.
    expect(elapsed).toBeLessThan(1700);
    expect(emulator.calls.count('CreateParticipant', { status: 200 })).toBe(1);
  });

  it('resumes a participant from a snapshot and back-fills from its cursor', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    emulator.say(chat.contactId, 'one');
    await recorder.waitForMessages(1);
    const snapshot = session.snapshot();
    expect(snapshot.cursor).toBe(recorder.ids().at(-1));
    session.close(); // another host takes over: the participant stays in the chat
    expect(emulator.contact(chat.contactId).participants.find((p) => p.role === 'CUSTOM_BOT')?.state).toBe(
      'connected',
    );
    emulator.say(chat.contactId, 'two');
    emulator.say(chat.contactId, 'three');

    const other = new ChatClient({
      region: emulator.region,
      endpoint: emulator.endpoint,
      credentials: dummyCredentials,
      timings: FAST_TIMINGS,
    });
    const resumedItems: string[] = [];
    other.on('sessionOpened', (s) => s.on('message', (item) => resumedItems.push(item.Content ?? '')));
    const resumed = await other.resume(snapshot);
    expect(resumed.participantId).toBe(session.participantId);
    await waitUntil(() => resumedItems.length === 2, 'back-filled messages');
    expect(resumedItems).toEqual(['two', 'three']);
    emulator.say(chat.contactId, 'four');
    await waitUntil(() => resumedItems.length === 3, 'live message after resume');
    resumed.close();
  });

  it('refuses to resume a participant whose chat has ended (CB_CHAT_ENDED)', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const snapshot = session.snapshot();
    session.close();
    emulator.endChat(chat.contactId, 'system');
    await expect(client.resume(snapshot)).rejects.toMatchObject({ code: ErrorCode.ChatEnded });
  });

  it('disconnect ends the session and the flow Wait with BotParticipantDisconnected', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    await session.setAttributes({ next: 'queue' });
    const ended = nextEvent(session, 'ended');
    await session.disconnect();
    expect(await ended).toEqual(['disconnected', undefined]);
    expect(session.state).toBe('ended');
    expect(emulator.outcome(chat.contactId).wait).toMatchObject({
      result: 'BotParticipantDisconnected',
      attributes: { next: 'queue' },
    });
    await expect(session.sendMessage('late')).rejects.toMatchObject({ code: ErrorCode.SessionEnded });
  });
});
