import { EventEmitter } from 'eventemitter3';
import { describe, expect, it } from 'vitest';
import { type ChatItem, type ConnectBotError, ErrorCode } from '../../src/index.js';
import {
  dropAndReopen,
  handOver,
  joinedChat,
  onThrottled,
  record,
  sayOutOfOrder,
  setup,
} from '../support/harness.js';
import { nextEvent, waitUntil } from '../support/wait.js';

describe('item listeners, as with emit', () => {
  it('reference: eventemitter3 emit does not call a listener added while the event is being emitted', () => {
    const emitter = new EventEmitter<{ message: [string] }>();
    const got: string[] = [];
    emitter.on('message', (text) => {
      if (text === 'question') emitter.once('message', (next) => got.push(next));
    });
    emitter.on('message', () => {});
    emitter.emit('message', 'question');
    emitter.emit('message', 'answer');
    expect(got).toEqual(['answer']);
  });

  it('a once-listener added by a message listener (with 2+ listeners) must get the NEXT message, not the current one', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const answers: string[] = [];
    // A typical "ask, then wait for the reply" bot: the waiter is registered while the question is delivered.
    session.on('message', (item) => {
      if (item.Content === 'order status?')
        session.once('message', (next) => answers.push(next.Content ?? ''));
    });
    session.on('message', () => {}); // any second listener (e.g. a logger) makes _events an array
    emulator.say(chat.contactId, 'order status?');
    emulator.say(chat.contactId, '12345');
    await recorder.waitForMessages(2);
    expect(answers).toEqual(['12345']);
  });
});

describe('a listener that throws something String() cannot convert', () => {
  it('is a CB_HANDLER_FAILED error event; later listeners still get the item and the session stays open', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const failures: string[] = [];
    session.on('error', (error) => failures.push(error.code));
    session.on('message', (item) => {
      // e.g. a plain error record built with Object.create(null)
      if (item.Content === 'missed') throw Object.assign(Object.create(null), { reason: 'bad' });
    });
    const later: string[] = [];
    session.on('message', (item) => later.push(item.Content ?? ''));
    // Delivered by the reconnect's back-fill (a live push would make this an uncaught exception in the socket).
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const reopened = nextEvent(session, 'state', (state) => state === 'open' || state === 'ended', 5000);
    emulator.faults.dropSockets(bot, 'abrupt');
    emulator.say(chat.contactId, 'missed');
    await reopened;
    await recorder.waitForMessages(1);
    expect(session.endedBecause).toBeUndefined();
    expect(later).toEqual(['missed']);
    expect(failures).toEqual([ErrorCode.HandlerFailed]);
  });
});

describe('a listener that ends the session during delivery', () => {
  it('no typed event (message) is delivered after the session ended in an item listener', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const log: string[] = [];
    session.on('item', (item) => {
      if (item.Content === 'bye') session.close();
    });
    session.on('ended', (reason) => log.push(`ended ${reason}`));
    session.on('message', (item) => log.push(`message ${item.Content} (state ${session.state})`));
    const ended = nextEvent(session, 'ended', () => true, 5000);
    emulator.say(chat.contactId, 'bye');
    await ended;
    await new Promise((resolve) => setImmediate(resolve)); // deliver() is synchronous: it is done by now
    expect(log).toEqual(['ended closed']);
  });

  it('reference: a hand-over from a listener during a back-fill loses nothing (live/back-fill path)', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    let snapshot: ReturnType<typeof session.snapshot> | undefined;
    const first: string[] = [];
    session.on('message', (item) => {
      first.push(item.Content ?? '');
      if (item.Content === 'one') {
        snapshot = session.snapshot();
        session.close();
      }
    });
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    const ended = nextEvent(session, 'ended', () => true, 5000);
    emulator.faults.dropSockets(bot, 'abrupt');
    emulator.say(chat.contactId, 'one');
    emulator.say(chat.contactId, 'two');
    await ended;
    const resumed = await client.resume(snapshot!);
    const recorder = record(resumed);
    await recorder.waitForMessages(1, 5000);
    expect([...first, ...recorder.customerMessages()]).toEqual(['one', 'two']);
  });

  it('a hand-over from a listener while the join releases its held items loses nothing', async () => {
    const { emulator, client } = await setup();
    const chat = emulator.startChat();
    // 'one' and 'two' arrive during the join's back-fill: they are held until the caller attached listeners.
    emulator.faults.failNext('GetTranscript', { status: 429 });
    onThrottled(client, 'GetTranscript', () => {
      emulator.say(chat.contactId, 'one');
      emulator.say(chat.contactId, 'two');
    });
    const session = await client.join({
      instanceId: emulator.instanceId,
      contactId: chat.contactId,
      displayName: 'Bot',
    });
    let snapshot: ReturnType<typeof session.snapshot> | undefined;
    const first: string[] = [];
    session.on('message', (item) => {
      first.push(item.Content ?? '');
      if (item.Content === 'one') {
        snapshot = session.snapshot(); // e.g. hand the chat to another host
        session.close();
      }
    });
    await nextEvent(session, 'ended', () => true, 5000);
    expect(first).toEqual(['one']);
    const resumed = await client.resume(snapshot!);
    const recorder = record(resumed);
    emulator.say(chat.contactId, 'three');
    await recorder.waitForMessages(1, 5000);
    await waitUntil(() => recorder.customerMessages().includes('three'), "'three'", 5000);
    // The snapshot's cursor must not be past 'two', which this host never delivered.
    expect([...first, ...recorder.customerMessages()]).toEqual(['one', 'two', 'three']);
  });
});

describe('the back-fill ring after out-of-order delivery followed by more items', () => {
  /** Transcript: first, A, B, D1..D7. The socket delivers first, B, A, D1..D7 (B overtook A). */
  async function overtakenThenSeven() {
    const { emulator, client } = await setup({ client: { dedupeWindow: 16 } });
    const { chat, session, recorder } = await joinedChat(emulator, client);
    await sayOutOfOrder(emulator, session, recorder);
    const more = ['D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'D7'];
    for (const text of more) emulator.say(chat.contactId, text);
    await recorder.waitForMessages(10);
    // B is after A in the transcript: whichever of them the back-fill starts from, B must be known as seen.
    return { emulator, client, chat, session, recorder, more };
  }

  it('a resumed session does not deliver B again', async () => {
    const { emulator, client, chat, session, recorder, more } = await overtakenThenSeven();
    const { recorder: resumedRecorder } = await handOver(client, session);
    emulator.say(chat.contactId, 'after');
    await waitUntil(() => resumedRecorder.customerMessages().includes('after'), "'after'", 5000);
    const all = [...recorder.customerMessages(), ...resumedRecorder.customerMessages()];
    expect(all).toEqual(['first', 'B', 'A', ...more, 'after']);
  });

  it('the same session, once receipts pushed B out of the dedupe window, does not deliver B again', async () => {
    const { emulator, chat, session, recorder, more } = await overtakenThenSeven();
    const b = recorder.items.find((i) => i.Content === 'B')!;
    const receipts: ChatItem[] = [];
    session.on('event', (item) => receipts.push(item));
    for (let round = 0; round < 8; round++) {
      await session.sendEvent('delivered', { messageId: b.Id });
      await session.sendEvent('read', { messageId: b.Id });
    }
    await waitUntil(() => receipts.length >= 16, '16 receipts echoed', 5000);
    await dropAndReopen(emulator, session);
    emulator.say(chat.contactId, 'after');
    await waitUntil(() => recorder.customerMessages().includes('after'), "'after'", 5000);
    expect(recorder.customerMessages()).toEqual(['first', 'B', 'A', ...more, 'after']);
  });
});

describe('an async listener whose promise rejects', () => {
  it('is a CB_HANDLER_FAILED error event, not an unhandled rejection, and the session goes on', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const failed = nextEvent(session, 'error', () => true, 5000);
      session.on('message', async (item) => {
        await Promise.resolve();
        if (item.Content === 'first') throw new Error('lookup failed');
      });
      emulator.say(chat.contactId, 'first');
      const [error] = await failed;
      expect(error).toMatchObject({
        code: ErrorCode.HandlerFailed,
        message: "a 'message' listener rejected: Error: lookup failed",
      });
      emulator.say(chat.contactId, 'second');
      await recorder.waitForMessages(2);
      // Node reports an unhandled rejection after the microtask queue drains: a macrotask later is enough.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      expect(session.state).toBe('open');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

/** A listener's return value is looked at only for a promise: `null` (a lookup that found nothing) is fine. */
describe('an item listener that returns null', () => {
  it('is not reported as a failed listener', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    const errors: ConnectBotError[] = [];
    session.on('error', (error) => errors.push(error));
    session.on('message', () => null);
    emulator.say(chat.contactId, 'hello');
    await recorder.waitForMessages(1);
    // A second message makes sure the first one's delivery (and any report) is complete.
    emulator.say(chat.contactId, 'again');
    await recorder.waitForMessages(2);
    expect(errors.map((e) => `${e.code}: ${e.message}`)).toEqual([]);
  });
});

/** Nothing is emitted after the end, not even an async listener's late rejection (it is logged). */
describe('an async item listener that rejects after the session ended', () => {
  it('emits nothing on the ended session', async () => {
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const events: string[] = [];
    session.on('error', (error: ConnectBotError) => events.push(`error ${error.code}`));
    session.on('ended', (reason) => events.push(`ended ${reason}`));
    client.on('sessionError', (_s, error) => events.push(`sessionError ${error.code}`));
    let fail: ((error: Error) => void) | undefined;
    let running: Promise<void> | undefined;
    session.on('message', (item) => {
      if (item.Content !== 'look this up') return undefined;
      // e.g. a CRM look-up that outlives the session
      running = new Promise<void>((_resolve, reject) => {
        fail = reject;
      });
      return running;
    });
    emulator.say(chat.contactId, 'look this up');
    await waitUntil(() => fail, 'the async listener to be waiting');
    const ended = nextEvent(session, 'ended', () => true, 5000);
    session.close();
    await ended;
    fail!(new Error('lookup failed: session gone'));
    await running!.catch(() => {});
    // Let the rejection handler run (a macrotask later, as in test/session/delivery.test.ts).
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['ended closed']);
  });
});
