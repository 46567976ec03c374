import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ApiError } from '../emulator/errors.js';
import { ConnectBotError, ErrorCode } from '../errors.js';
import type { HeldChat } from '../host/chat.js';
import { answerClientErrors, readBody, sendJson } from '../host/http.js';
import type { LocalStack } from './stack.js';

const PUBLIC = join(dirname(fileURLToPath(import.meta.url)), 'public');
const STATIC: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};

/** Faults the host panel can inject into the selected chat's bot connection. */
export const FAULTS = ['drop', 'drop-abrupt', 'zombie', 'throttle', 'expire-token'] as const;
export type Fault = (typeof FAULTS)[number];

/** Chats the panel shows, including recently ended ones. */
const KEEP_ENDED = 50;

/**
 * The playground web server: the page (chatjs in the browser as the customer, plus a live host panel), the
 * real chatjs bundle from the installed package, and a small JSON API over the local stack.
 */
export class PlaygroundServer {
  private readonly server: Server;
  private readonly chats = new Map<string, HeldChat>();
  private throttles = 0;

  constructor(private readonly stack: LocalStack) {
    const { host, client } = stack.running;
    host.on('joined', (chat) => {
      this.chats.set(chat.contactId, chat);
      if (this.chats.size > KEEP_ENDED) {
        for (const [id, old] of this.chats) {
          if (old.session.ended) {
            this.chats.delete(id);
            break;
          }
        }
      }
    });
    client.on('apiCall', (call) => {
      if (call.outcome === 'throttled') this.throttles++;
    });
    // A request that never finishes is answered 408 and closed, not held for Node's 5 minutes (Node looks for
    // such requests every connectionsCheckingInterval, 30 s by default).
    this.server = createServer(
      {
        requestTimeout: REQUEST_TIMEOUT_MS,
        headersTimeout: REQUEST_TIMEOUT_MS,
        connectionsCheckingInterval: 1000,
      },
      (req, res) => void this.handle(req, res),
    );
    this.server.keepAliveTimeout = 5000;
    answerClientErrors(this.server, ErrorCode.InvalidArgument, (_status, code, message) => ({
      code,
      error: message,
    }));
  }

  async listen(port = 0): Promise<string> {
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    try {
      const file = STATIC[path];
      if (req.method === 'GET' && file) return this.sendFile(res, join(PUBLIC, file[0]), file[1]);
      if (req.method === 'GET' && path === '/vendor/amazon-connect-chat.js') return this.sendChatjs(res);
      if (req.method === 'GET' && path === '/api/config') return sendJson(res, 200, this.config());
      if (req.method === 'GET' && path === '/api/state') return sendJson(res, 200, this.state());
      if (req.method === 'POST' && path === '/api/chats')
        return sendJson(res, 200, this.startChat(await readJson(req)));
      const chat = /^\/api\/chats\/([^/]+)(\/faults)?$/.exec(path);
      const contactId = chat ? decoded(chat[1]!) : undefined; // a bad escape names no chat: 404
      if (contactId !== undefined && req.method === 'GET' && !chat![2])
        return sendJson(res, 200, this.stack.emulator.contact(contactId));
      if (contactId !== undefined && req.method === 'POST' && chat![2]) {
        const { fault } = parse(faultRequest, await readJson(req), `{ "fault": ${FAULTS.join(' | ')} }`);
        return sendJson(res, 200, this.inject(contactId, fault));
      }
      sendJson(res, 404, { code: 'NOT_FOUND', error: 'not found' });
    } catch (error) {
      const { status, code, message } = errorAnswer(error);
      sendJson(res, status, { code, error: message });
    }
  }

  private config() {
    return {
      ...this.stack.ready,
      bots: [...this.stack.running.host.bots.values()].map((bot) => ({
        name: bot.name,
        displayName: bot.displayName,
      })),
    };
  }

  private startChat(body: unknown) {
    const { bot, displayName } = parse(chatRequest, body, '{ "bot"?: string, "displayName"?: string }');
    if (bot !== undefined && !this.stack.running.host.bots.has(bot))
      throw new ConnectBotError(ErrorCode.UnknownBot, `unknown bot ${bot}`);
    // Stands in for the StartChatContact backend a real website calls; the flow then invites the bot.
    return this.stack.emulator.startChat({
      displayName: displayName || 'Customer',
      attributes: bot ? { bot } : {},
    });
  }

  private state() {
    const waited = this.stack.running.limiter?.waited ?? new Map<string, number>();
    return {
      chatsHeld: [...this.chats.values()].filter((chat) => !chat.session.ended).length,
      throttles: this.throttles,
      quotaWaitMs: Object.fromEntries([...waited].map(([bucket, ms]) => [bucket, Math.round(ms)])),
      handlersRunning: this.stack.running.host.handlersRunning,
      chats: [...this.chats.values()].reverse().map((chat) => ({
        contactId: chat.contactId,
        participantId: chat.session.participantId,
        bot: chat.botName,
        state: chat.session.state,
        endedBecause: chat.session.endedBecause,
        reconnects: chat.session.stats.reconnects,
        rotations: chat.session.stats.rotations,
        tokenRefreshes: chat.session.stats.tokenRefreshes,
        duplicatesDropped: chat.session.stats.duplicatesDropped,
        queueDepth: chat.queueDepth,
        handled: chat.stats.handled,
        repliesSent: chat.stats.repliesSent,
        errors: chat.stats.errors,
        outcome: chat.outcome,
      })),
    };
  }

  private inject(contactId: string, fault: Fault) {
    const { faults } = this.stack.emulator;
    this.stack.emulator.contact(contactId); // 404 for a contact the emulator does not know
    const bot = { contactId, role: 'CUSTOM_BOT' } as const;
    switch (fault) {
      case 'drop':
        return { sockets: faults.dropSockets(bot, 'clean') };
      case 'drop-abrupt':
        return { sockets: faults.dropSockets(bot, 'abrupt') };
      case 'zombie':
        return { sockets: faults.stopHeartbeats(bot, { dropPushes: true }) };
      case 'throttle':
        faults.failNext('SendMessage', { count: 2, status: 429, participant: bot });
        return {};
      case 'expire-token':
        faults.expireConnectionTokens(bot);
        return {};
    }
  }

  private async sendFile(res: ServerResponse, path: string, type: string): Promise<void> {
    const body = await readFile(path);
    res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-store' });
    res.end(body);
  }

  /** The real chatjs bundle, straight from the installed package. */
  private async sendChatjs(res: ServerResponse): Promise<void> {
    let path: string;
    try {
      path = createRequire(import.meta.url).resolve('amazon-connect-chatjs');
    } catch {
      return sendJson(res, 404, { error: 'amazon-connect-chatjs is not installed (npm install)' });
    }
    await this.sendFile(res, path, 'text/javascript; charset=utf-8');
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req, 16 * 1024);
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ConnectBotError(ErrorCode.InvalidArgument, 'the body is not JSON');
  }
}

const REQUEST_TIMEOUT_MS = 10_000;

const chatRequest = z
  .object({ bot: z.string().min(1).optional(), displayName: z.string().max(256).optional() })
  .strict();
const faultRequest = z.object({ fault: z.enum(FAULTS) }).strict();

/** The body checked against `schema`, or CB_INVALID_ARGUMENT naming what is wrong and what was expected. */
function parse<T>(schema: z.ZodType<T>, body: unknown, expected: string): T {
  const checked = schema.safeParse(body);
  if (checked.success) return checked.data;
  const problems = checked.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
  throw new ConnectBotError(ErrorCode.InvalidArgument, `${problems.join('; ')} (expected ${expected})`);
}

/** A failure as the page gets it: a status, a stable code, and a message (never a JavaScript internal). */
function errorAnswer(error: unknown): { status: number; code: string; message: string } {
  if (error instanceof ConnectBotError) {
    const status = error.code === ErrorCode.PayloadTooLarge ? 413 : 400;
    return { status, code: error.code, message: error.message };
  }
  if (error instanceof ApiError && error.status < 500)
    return { status: error.status, code: error.type, message: error.message };
  return { status: 500, code: ErrorCode.Internal, message: 'internal error' };
}

/** `decodeURIComponent`, or undefined for text that is not valid percent-encoding. */
function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
