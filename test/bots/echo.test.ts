import { afterEach, describe, expect, it } from 'vitest';
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

describe('echo bot content types', () => {
  it('repeats JSON as JSON, past the text/plain limit', async () => {
    const chat = await testChat(echo);
    await chat.expectReply(/I repeat/);
    const json = JSON.stringify({ data: 'x'.repeat(2000) });
    await chat.say(json, { contentType: 'application/json' });
    await chat.expectReply((text) => text === json);
    const reply = chat
      .transcript()
      .filter((item) => item.ParticipantRole === 'CUSTOM_BOT')
      .at(-1);
    expect(reply?.ContentType).toBe('application/json');
    expect(chat.errors).toEqual([]);
  });
});
