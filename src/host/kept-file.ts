import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConnectBotError, ErrorCode } from '../errors.js';
import type { KeptChat } from './host.js';

const id = z.string().min(1).max(256);

const keptChat = z.object({
  bot: z.string().min(1),
  attributes: z.record(z.string(), z.string()),
  /** Absent (a file written by hand): the chat was greeted. */
  joined: z.boolean().default(true),
  snapshot: z.object({
    instanceId: id,
    contactId: id,
    initialContactId: id,
    participantId: id,
    participantToken: z.string().min(1),
    displayName: z.string().optional(),
    cursor: id.optional(),
    cursorTime: z.string().optional(),
    recent: z.array(z.object({ id, time: z.string().optional() })).optional(),
  }),
});

/**
 * Fails with CB_CONFIG_INVALID unless the kept chats could be written to `path`: checked at start, since at
 * shutdown the chats are already let go and a write that fails loses them.
 */
export async function checkKeptFileWritable(path: string): Promise<void> {
  const dir = dirname(resolve(path));
  try {
    await access(dir, constants.W_OK);
  } catch (error) {
    throw new ConnectBotError(
      ErrorCode.ConfigInvalid,
      `invalid configuration:\n  - shutdown.keepFile: cannot write to ${dir} (${(error as NodeJS.ErrnoException).code})`,
    );
  }
}

/**
 * Where a start keeps the chats it read from `keepFile` while it takes them over: one that dies meanwhile (a crash,
 * a kill) leaves them there for the next start, which would otherwise find no file and leave them to the Wait
 * timeout. Removed once the take-over is over (or rewritten with the chats it failed to take).
 */
export function takeOverFile(keepFile: string): string {
  return `${keepFile}.taking-over`;
}

/** The chats of both lists, one per contact: `first`'s when both have it. */
export function mergeKept(first: KeptChat[], second: KeptChat[]): KeptChat[] {
  const contacts = new Set(first.map((chat) => chat.snapshot.contactId));
  return [...first, ...second.filter((chat) => !contacts.has(chat.snapshot.contactId))];
}

/**
 * Writes the chats kept at shutdown to `path`, mode 0600 (the snapshots carry participant tokens). The file is
 * written beside it, flushed to disk and renamed into place, and the folder is flushed too: a reader never sees
 * half of it, and a machine that loses power right after the shutdown still has it.
 */
export async function writeKeptFile(path: string, kept: KeptChat[]): Promise<void> {
  const partial = `${path}.${randomUUID()}.partial`;
  try {
    const file = await open(partial, 'wx', 0o600);
    try {
      await file.writeFile(JSON.stringify(kept));
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(partial, path);
  } finally {
    await rm(partial, { force: true });
  }
  await syncFolder(dirname(resolve(path)));
}

/**
 * Removes what writes of `path` killed half-way left beside it (`<file>.<uuid>.partial`: they hold participant
 * tokens, and nothing else would ever remove them). Returns how many; best effort, never throws.
 */
export async function removePartialKeptFiles(path: string): Promise<number> {
  const dir = dirname(resolve(path));
  const prefix = `${basename(path)}.`;
  const partial = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.partial$/;
  let removed = 0;
  try {
    for (const name of await readdir(dir)) {
      if (!name.startsWith(prefix) || !partial.test(name.slice(prefix.length))) continue;
      await rm(join(dir, name), { force: true });
      removed++;
    }
  } catch {
    // Best effort: a folder that cannot be listed keeps its leftovers.
  }
  return removed;
}

/** Flushes a folder's entries (the rename). Where a folder cannot be opened for that (Windows), the rename stands. */
async function syncFolder(dir: string): Promise<void> {
  let folder: Awaited<ReturnType<typeof open>> | undefined;
  try {
    folder = await open(dir, 'r');
    await folder.sync();
  } catch {
    // Best effort: the file is already in place.
  } finally {
    await folder?.close();
  }
}

/**
 * Reads the chats a `keep` shutdown wrote to `path`. No file: none. A file that is not a list of kept chats is
 * `CB_KEEP_FILE_INVALID`. The caller removes the file once the chats are its own.
 */
export async function readKeptFile(path: string): Promise<KeptChat[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ConnectBotError(ErrorCode.KeepFileInvalid, `cannot read the kept chats in ${path}`, {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // Not the parser's message: it quotes the text around the fault, and this text holds participant tokens.
    const at = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new ConnectBotError(
      ErrorCode.KeepFileInvalid,
      `${path} is not JSON${text.trim() === '' ? ' (it is empty)' : at ? ` (at character ${at})` : ''}`,
    );
  }
  const checked = z.array(keptChat).safeParse(parsed);
  if (!checked.success) {
    const problems = checked.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new ConnectBotError(
      ErrorCode.KeepFileInvalid,
      `${path} is not a list of kept chats: ${problems.slice(0, 5).join('; ')}`,
    );
  }
  return checked.data;
}
