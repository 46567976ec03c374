import { describe, expect, it } from 'vitest';
import type { ChatClient, ChatSession, SessionSnapshot } from '../../src/index.js';
import { joinedChat, setup } from '../support/harness.js';
import { nextEvent, waitUntil } from '../support/wait.js';

/**
 * Every session hands the chat over from inside a message listener, after handling `perSession` messages: a
 * snapshot, close(), and a resume (which back-fills the rest, held and released item by item).
 */
function chain(client: ChatClient, first: ChatSession, perSession: number, delivered: string[]) {
  const sessions: ChatSession[] = [];
  const attach = (session: ChatSession) => {
    sessions.push(session);
    let handled = 0;
    session.on('message', (item) => {
      if (item.ParticipantRole !== 'CUSTOMER') return;
      delivered.push(item.Content ?? '');
      if (++handled < perSession) return;
      const snapshot: SessionSnapshot = session.snapshot();
      session.close();
      void client
        .resume(snapshot)
        .then(attach)
        .catch(() => {}); // only when the emulator is torn down under a last resume
    });
  };
  attach(first);
  return sessions;
}

describe('hand-overs from inside item listeners', () => {
  for (const perSession of [1, 2, 3]) {
    it(`every ${perSession} message(s), over live, back-filled and held items`, async () => {
      const { emulator, client } = await setup();
      const { chat, session } = await joinedChat(emulator, client);
      const delivered: string[] = [];
      const sessions = chain(client, session, perSession, delivered);
      const said: string[] = [];
      const say = (text: string) => {
        said.push(text);
        emulator.say(chat.contactId, text);
      };
      for (let i = 1; i <= 12; i++) say(`live ${i}`);
      await waitUntil(() => delivered.length >= said.length && true, 'live ones', 10_000).catch(() => {});
      // Many items missed by the socket, then a reconnect: one back-fill brings them all.
      const current = () => sessions.at(-1)!;
      await waitUntil(() => current().state === 'open', 'an open session', 5000);
      const target = current();
      emulator.faults.stopHeartbeats({ contactId: chat.contactId, role: 'CUSTOM_BOT' }, { dropPushes: true });
      for (let i = 1; i <= 12; i++) say(`missed ${i}`);
      const reopened = nextEvent(target, 'state', (s) => s === 'open' || s === 'ended', 8000);
      emulator.faults.dropSockets({ contactId: chat.contactId, role: 'CUSTOM_BOT' }, 'abrupt');
      await reopened.catch(() => {});
      await waitUntil(() => delivered.length >= said.length && true, 'all', 10_000).catch(() => {});
      const dupes = delivered.filter((t, i) => delivered.indexOf(t) !== i);
      const missing = said.filter((t) => !delivered.includes(t));
      expect({ dupes, missing }).toEqual({ dupes: [], missing: [] });
      expect(delivered).toEqual(said); // and in order
    }, 60_000);
  }
});
