import type { IncomingMessage, ServerResponse } from 'node:http';
import { payloadTooLarge, serializationError } from './errors.js';

/** Larger request bodies are refused with 413 before they are parsed. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Reads a request body, refusing more than `limit` bytes. */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    throw payloadTooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      throw payloadTooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a restJson1 body: empty means `{}`, anything but a JSON object is a SerializationException. */
export function parseJsonObject(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw serializationError('Malformed JSON in request body');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw serializationError('Request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

/**
 * Parses the first JSON value in a websocket frame and ignores whatever follows it. The iOS SDK sends
 * its subscribe frame with a stray trailing `)` (protocol.md §3.1); the real gateway tolerates it.
 * Returns `undefined` when the frame does not start with a JSON value.
 */
export function parseFirstJsonValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const end = endOfFirstValue(text);
    if (end === undefined) return undefined;
    try {
      return JSON.parse(text.slice(0, end));
    } catch {
      return undefined;
    }
  }
}

/** Index just past the first complete top-level object or array, scanning strings and escapes. */
function endOfFirstValue(text: string): number | undefined {
  let start = 0;
  while (start < text.length && /\s/.test(text[start]!)) start++;
  const open = text[start];
  if (open !== '{' && open !== '[') return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return undefined;
}
