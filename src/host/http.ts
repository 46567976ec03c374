import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConnectBotError, ErrorCode } from '../errors.js';

/** Answers with a JSON body; a no-op once headers went out (e.g. after a timeout already answered). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

/**
 * Reads a request body as UTF-8, refusing more than `limit` bytes with `CB_PAYLOAD_TOO_LARGE` (by
 * Content-Length before reading, and while reading for chunked bodies). The rest of a refused body is drained.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const tooLarge = () => {
    req.resume();
    return new ConnectBotError(ErrorCode.PayloadTooLarge, `body over ${limit} bytes`);
  };
  if (Number(req.headers['content-length'] ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
