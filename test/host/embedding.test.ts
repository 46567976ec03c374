// README "Embedding the host in your own process", as written but for the emulator's endpoint and dummy keys.
import { BotHost, ChatClient, JoinServer, loadBots } from 'connect-bot';
import { afterEach, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { botMessages, postJoin, waitForBotMessages } from '../support/host-harness.js';
import { dummyCredentials } from '../support/sdk.js';

let emulator: Emulator | undefined;
afterEach(() => emulator?.close());

it('the README embedding example joins through its own JoinServer and hands the chat off at stop', async () => {
  emulator = await startEmulator();
  const secret = 'embedding-secret-0123456789';
  const client = new ChatClient({
    region: emulator.region,
    endpoint: emulator.endpoint,
    credentials: dummyCredentials,
  });
  const host = new BotHost({ client, bots: await loadBots('bots'), onShutdown: 'handoff' });
  const server = new JoinServer(host, { host: '127.0.0.1', port: 0, secret });
  const url = await server.listen();
  const chat = emulator.startChat();
  const answer = await postJoin(
    url,
    { instanceId: emulator.instanceId, contactId: chat.contactId, bot: 'echo' },
    { authorization: `Bearer ${secret}` },
  );
  expect(answer).toMatchObject({
    status: 200,
    body: { bot: 'echo', reused: false },
  });
  emulator.say(chat.contactId, 'ping');
  await waitForBotMessages(emulator, chat.contactId, 2);
  expect(botMessages(emulator, chat.contactId).at(-1)).toContain('ping');

  const other = emulator.startChat();
  await expect(
    host.join({
      instanceId: emulator.instanceId,
      contactId: other.contactId,
      bot: 'faq',
      attributes: { lang: 'en' },
    }),
  ).resolves.toMatchObject({ bot: 'faq', reused: false });

  const stopped = await host.stop();
  await server.close(2000);
  expect(stopped).toMatchObject({ mode: 'handoff', chats: 2, kept: [], overdue: 0 });
  for (const contactId of [chat.contactId, other.contactId]) {
    const bot = emulator.contact(contactId).participants.find((p) => p.role === 'CUSTOM_BOT');
    expect(bot?.state).toBe('left');
    expect(emulator.contact(contactId).attributes).toMatchObject({ botShutdown: 'true' });
  }
});
