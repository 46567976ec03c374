import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, type TestChat, testChat } from '../../src/testing/index.js';
import { waitUntil } from '../support/wait.js';

const echo = defineBot({
  name: 'echo-leak',
  displayName: 'Echo',
  setup(bot) {
    bot.on('message', (ctx) => ctx.reply(ctx.text));
  },
});

function resources(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((r) => r !== 'TTYWrap')
    .sort();
}

it('close() leaves no sockets or servers behind', async () => {
  const before = resources().filter((r) => r !== 'Timeout');
  const chat = await testChat(echo);
  await chat.say('hi');
  await chat.expectReply('hi');
  await chat.close();
  // Sockets may take a moment to finish closing after close() resolves; they must all go.
  const now = () => resources().filter((r) => r !== 'Timeout');
  await waitUntil(() => JSON.stringify(now()) === JSON.stringify(before), `handles back to ${before}`, 2000);
});

it('close() while a handler never settles still returns promptly', async () => {
  const stuck = defineBot({
    name: 'stuck',
    displayName: 'Stuck',
    setup(bot) {
      bot.on('message', () => new Promise(() => {}));
    },
  });
  const chat = await testChat(stuck);
  await chat.say('hi');
  const started = performance.now();
  await chat.close();
  expect(performance.now() - started).toBeLessThan(3000);
});

/** True while the emulator still answers HTTP on its port. */
function listening(emulator: Emulator): Promise<boolean> {
  return fetch(emulator.endpoint, { signal: AbortSignal.timeout(2000) }).then(
    () => true,
    () => false,
  );
}

describe('kit teardown', () => {
  it('a second close() resolves only once the chat is torn down (await using plus closeAllTestChats)', async () => {
    const chat = await testChat(echo);
    const first = chat.close();
    await chat.close();
    expect(await listening(chat.emulator)).toBe(false);
    await first;
  });

  it('closeAllTestChats also closes a chat that was still joining', async () => {
    const pending = testChat(echo);
    await closeAllTestChats();
    const chat: TestChat = await pending;
    expect(await listening(chat.emulator)).toBe(false);
    await chat.close();
  });

  it('a testChat refused for its bot or its timings starts nothing', async () => {
    const servers = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    const before = servers();
    const broken = defineBot({
      name: 'broken-setup',
      displayName: 'Broken',
      setup() {
        throw new Error('forgot to import the answers');
      },
    });
    await expect(testChat(broken)).rejects.toMatchObject({ code: 'CB_BOT_LOAD_FAILED' });
    await expect(testChat(echo, { timings: { heartbeatIntervalMs: -1 } })).rejects.toMatchObject({
      code: 'CB_INVALID_ARGUMENT',
    });
    expect(servers()).toBe(before);
  });
});
