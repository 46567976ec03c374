import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Bot, type BotDefinition, checkBotDefinition } from '../bot/bot.js';
import { ConnectBotError, describeThrown, ErrorCode } from '../errors.js';
import type { ChatSession } from '../session/session.js';
import { type HeldChat, HostedChat, type HostedChatOptions } from './chat.js';

// biome-ignore lint/suspicious/noExplicitAny: plugins each have their own state type; the registry erases it
export type AnyBotDefinition = BotDefinition<any>;

/** A bot ready to attach to chats: its middleware built once, shared by every chat it runs in. */
export interface PreparedBot {
  readonly name: string;
  readonly displayName: string;
  attach(session: ChatSession, attributes: Record<string, string>, options: HostedChatOptions): HeldChat;
}

/** Builds a bot's middleware once, keeping its state type inside the closure. */
export function prepareBot<S extends object>(definition: BotDefinition<S>): PreparedBot {
  checkBotDefinition(definition);
  const bot = new Bot<S>(definition.name);
  let returned: unknown;
  try {
    returned = definition.setup(bot);
  } catch (error) {
    throw new ConnectBotError(
      ErrorCode.BotLoadFailed,
      `bot "${definition.name}": setup failed: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (typeof (returned as PromiseLike<unknown> | undefined)?.then === 'function') {
    // Handlers registered after an await would miss the first chats, and a rejection would go unhandled.
    Promise.resolve(returned).catch(() => {});
    throw new ConnectBotError(
      ErrorCode.BotLoadFailed,
      `bot "${definition.name}": setup must be synchronous (load data at the module's top level, or in onJoin)`,
    );
  }
  return {
    name: definition.name,
    displayName: definition.displayName,
    attach: (session, attributes, options) =>
      new HostedChat<S>(session, bot, attributes, definition.sessionDefaults?.() ?? ({} as S), options),
  };
}

/** Names a plugin folder may have: a bot's name. */
const BOT_NAME = /^[a-z0-9][a-z0-9-]*$/;

function isDefinition(value: unknown): value is AnyBotDefinition {
  const v = value as Partial<AnyBotDefinition> | undefined;
  return typeof v?.name === 'string' && typeof v.displayName === 'string' && typeof v.setup === 'function';
}

/**
 * Loads bot plugins from a folder: `<dir>/<name>/index.ts` or `<dir>/<name>.ts` (also `.js`/`.mjs`), each
 * default-exporting `defineBot(...)`. With `names`, loads only those and fails on any that is missing.
 */
export async function loadBots(dir: string, names?: string[]): Promise<PreparedBot[]> {
  const root = resolve(dir);
  const found = new Map<string, string>();
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch (error) {
    throw new ConnectBotError(ErrorCode.BotLoadFailed, `cannot read the bots folder ${root}`, {
      cause: error,
    });
  }
  const add = (name: string, file: string) => {
    const other = found.get(name);
    if (other) {
      throw new ConnectBotError(ErrorCode.BotLoadFailed, `two plugins named "${name}": ${other} and ${file}`);
    }
    found.set(name, file);
  };
  // Only names a bot can have are looked at: helpers (`_shared/`, `Utils.ts`) and editors' files (`.#faq.ts`,
  // which may be a dangling link) are not.
  for (const entry of entries.sort()) {
    const folder = BOT_NAME.test(entry);
    const file = /^([a-z0-9][a-z0-9-]*)\.(ts|js|mjs)$/.exec(entry);
    if (!folder && !file) continue;
    const path = join(root, entry);
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(path)).isDirectory();
    } catch (error) {
      throw new ConnectBotError(ErrorCode.BotLoadFailed, `cannot read ${path}`, { cause: error });
    }
    if (isDirectory) {
      if (!folder) continue;
      for (const index of ['index.ts', 'index.js', 'index.mjs']) {
        const main = join(path, index);
        if (await exists(main)) {
          add(entry, main);
          break;
        }
      }
    } else if (file) {
      add(file[1]!, path);
    }
  }
  const wanted = names ?? [...found.keys()];
  const bots: PreparedBot[] = [];
  for (const name of wanted) {
    const file = found.get(name);
    if (!file) throw new ConnectBotError(ErrorCode.BotLoadFailed, `no bot "${name}" in ${root}`);
    let module: { default?: unknown };
    try {
      module = (await import(pathToFileURL(file).href)) as { default?: unknown };
    } catch (error) {
      throw new ConnectBotError(
        ErrorCode.BotLoadFailed,
        `${file}: bot "${name}" failed to load: ${error instanceof Error ? error.message : describeThrown(error)}`,
        {
          cause: error,
        },
      );
    }
    if (!isDefinition(module.default)) {
      throw new ConnectBotError(
        ErrorCode.BotLoadFailed,
        `${file} must default-export defineBot({ name, displayName, setup })`,
      );
    }
    if (module.default.name !== name) {
      throw new ConnectBotError(
        ErrorCode.BotLoadFailed,
        `${file} defines bot "${module.default.name}", expected "${name}"`,
      );
    }
    try {
      bots.push(prepareBot(module.default));
    } catch (error) {
      // The definition's own checks and its setup: the message names the file too.
      const failure = error as ConnectBotError;
      throw new ConnectBotError(ErrorCode.BotLoadFailed, `${file}: ${failure.message}`, {
        cause: failure.cause ?? failure,
      });
    }
  }
  return bots;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
