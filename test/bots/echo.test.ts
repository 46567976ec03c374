import { afterEach, describe, it } from 'vitest';
import echo from '../../bots/echo.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';

afterEach(closeAllTestChats);

describe('echo bot', () => {
  it('greets, then repeats every message', async () => {
    const chat = await testChat(echo);
    await chat.expectReply(/I repeat whatever you say/);
    await chat.say('hello there');
    await chat.expectReply('hello there');
    await chat.say('**bold**');
    await chat.expectReply('**bold**');
  });
});
