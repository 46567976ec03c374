import { expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { testChat } from '../../src/testing/index.js';
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
