import { describe, expect, it } from 'vitest';
import { Bot, type ChatActions, Composer, Context, type UpdateKind } from '../../src/bot/index.js';
import type { ChatItem } from '../../src/index.js';
import { silentLogger } from '../../src/observability/log-types.js';

/** Records what handlers ask the chat to do (the host's side of the bot API). */
class RecordingActions implements ChatActions {
  readonly calls: string[] = [];
  async reply(text: string, contentType: string, itemId: string, index: number) {
    this.calls.push(`reply:${text}:${contentType}:${itemId}:${index}`);
    return { id: `r${this.calls.length}` };
  }
  async typing() {
    this.calls.push('typing');
  }
  async markRead(id: string) {
    this.calls.push(`read:${id}`);
  }
  async setAttributes(attributes: Record<string, string>) {
    this.calls.push(`attributes:${JSON.stringify(attributes)}`);
  }
  async handoff(attributes: Record<string, string>) {
    this.calls.push(`handoff:${JSON.stringify(attributes)}`);
  }
  async end() {
    this.calls.push('end');
  }
}

const contact = { instanceId: 'i', contactId: 'c', initialContactId: 'c', attributes: { lang: 'en' } };

function update(kind: UpdateKind, text?: string, extra: Partial<ChatItem> = {}) {
  const actions = new RecordingActions();
  const item: ChatItem | undefined =
    kind === 'join' || kind === 'end'
      ? undefined
      : {
          Id: `item-${text ?? kind}`,
          Type: kind === 'message' ? 'MESSAGE' : 'EVENT',
          ContentType: kind === 'message' ? 'text/plain' : `application/vnd.amazonaws.connect.event.${kind}`,
          AbsoluteTime: '2026-11-24T00:00:00.000Z',
          ...(text !== undefined ? { Content: text } : {}),
          ParticipantId: 'customer-1',
          ParticipantRole: 'CUSTOMER',
          DisplayName: 'Ada',
          ...extra,
        };
  const ctx = new Context<{ n: number }>(kind, item, contact, { n: 0 }, silentLogger, actions);
  return { ctx, actions };
}

async function run(bot: Bot<{ n: number }>, kind: UpdateKind, text?: string) {
  const { ctx, actions } = update(kind, text);
  const error = await bot.handle(ctx);
  if (error) await bot.report(error);
  return { ctx, calls: actions.calls, error };
}

describe('Composer', () => {
  it('runs middleware in order and stops where next() is not called', async () => {
    const order: string[] = [];
    const bot = new Bot<{ n: number }>('t');
    bot.use(async (_ctx, next) => {
      order.push('a-before');
      await next();
      order.push('a-after');
    });
    bot.use((_ctx, _next) => {
      order.push('b');
    });
    bot.use(() => {
      order.push('never');
    });
    await run(bot, 'message', 'x');
    expect(order).toEqual(['a-before', 'b', 'a-after']);
  });

  it('on(kind) narrows and filters; hears matches strings whole and RegExps anywhere, setting ctx.match', async () => {
    const bot = new Bot<{ n: number }>('t');
    bot.hears('hello', (ctx) => ctx.reply(`exact ${ctx.match}`));
    bot.hears(/order (\d+)/i, (ctx) => ctx.reply(`order ${(ctx.match as RegExpMatchArray)[1]}`));
    bot.on('typing', (ctx) => ctx.reply(`typing from ${ctx.from?.displayName}`));
    bot.on(['participant.joined', 'participant.left'], (ctx) => ctx.reply(ctx.kind));
    bot.on('message', (ctx) => ctx.reply(`fallback ${ctx.text.length}`));
    expect((await run(bot, 'message', ' HELLO ')).calls).toEqual([
      'reply:exact  HELLO :text/plain:item- HELLO :0',
    ]);
    expect((await run(bot, 'message', 'where is Order 42?')).calls[0]).toMatch(/^reply:order 42:/);
    expect((await run(bot, 'message', 'hello there')).calls[0]).toMatch(/^reply:fallback 11:/);
    expect((await run(bot, 'typing')).calls[0]).toMatch(/^reply:typing from Ada:/);
    expect((await run(bot, 'participant.left')).calls[0]).toMatch(/^reply:participant.left:/);
    expect((await run(bot, 'chat.ended')).calls).toEqual([]);
  });

  it('filter() with a predicate, and per-chat state through ctx.session', async () => {
    const bot = new Bot<{ n: number }>('t');
    bot.filter(
      (ctx) => ctx.contact.attributes.lang === 'en',
      (ctx) => {
        ctx.session.n += 1;
        return ctx.reply(`n=${ctx.session.n}`);
      },
    );
    const { ctx, calls } = await run(bot, 'message', 'x');
    expect(calls[0]).toMatch(/^reply:n=1:/);
    expect(ctx.session.n).toBe(1);
  });

  it('numbers replies per handler run for deterministic ClientTokens', async () => {
    const bot = new Bot<{ n: number }>('t');
    bot.on('message', async (ctx) => {
      await ctx.reply('one');
      await ctx.reply('two', { contentType: 'text/markdown' });
      await ctx.typing();
      await ctx.markRead();
    });
    expect((await run(bot, 'message', 'q')).calls).toEqual([
      'reply:one:text/plain:item-q:0',
      'reply:two:text/markdown:item-q:1',
      'typing',
      'read:item-q',
    ]);
  });

  it('sends errors to the error handler, and errorBoundary stops errors from its own subtree only', async () => {
    const caught: string[] = [];
    const bot = new Bot<{ n: number }>('t');
    bot.catch((error) => {
      caught.push(`bot:${error.message}`);
    });
    bot.errorBoundary(
      (error, next) => {
        caught.push(`boundary:${error.message}`);
        return next();
      },
      (ctx, next) => (ctx.text === 'inner' ? Promise.reject(new Error('inner failed')) : next()),
    );
    bot.on('message', () => {
      throw new Error('outer failed');
    });
    await run(bot, 'message', 'inner');
    await run(bot, 'message', 'other');
    expect(caught).toEqual(['boundary:inner failed', 'bot:outer failed', 'bot:outer failed']);
  });

  it('runs onJoin and onEnd hooks, not the update middleware, for lifecycle updates', async () => {
    const bot = new Bot<{ n: number }>('t');
    bot.onJoin((ctx) => ctx.reply('welcome'));
    bot.onEnd((ctx) => {
      ctx.session.n = -1;
    });
    bot.use((ctx) => ctx.reply('update'));
    expect((await run(bot, 'join')).calls).toEqual(['reply:welcome:text/plain:join:0']);
    const end = await run(bot, 'end');
    expect(end.calls).toEqual([]);
    expect(end.ctx.session.n).toBe(-1);
  });

  it('refuses actions once a context is revoked (a timed-out handler)', async () => {
    const { ctx } = update('message', 'x');
    ctx.revoke(new (await import('../../src/index.js')).ConnectBotError('CB_HANDLER_TIMEOUT', 'too slow'));
    await expect(ctx.reply('late')).rejects.toMatchObject({ code: 'CB_HANDLER_TIMEOUT' });
  });

  it('a Composer can be mounted into another', async () => {
    const feature = new Composer<Context<{ n: number }>>();
    feature.hears('ping', (ctx) => ctx.reply('pong'));
    const bot = new Bot<{ n: number }>('t');
    bot.use(feature);
    expect((await run(bot, 'message', 'ping')).calls[0]).toMatch(/^reply:pong:/);
  });
});
