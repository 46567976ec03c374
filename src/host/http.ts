import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
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
 * Answers what Node refuses before a request reaches the handler with a JSON body of `body(status, code,
 * message)`, as the handler's own errors are, not Node's empty one: 408 `CB_REQUEST_TIMEOUT` for a request
 * whose headers and body did not all arrive in time, 431 or 400 `badRequest` for one that is not HTTP.
 */
export function answerClientErrors(
  server: Server,
  badRequest: string,
  body: (status: number, code: string, message: string) => unknown,
): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // The response outstanding on this connection, if any (Node's own handler looks at the same field). Bytes
    // that are not HTTP after a request in progress do not answer that request: it gets its own answer, then the
    // connection is dropped.
    const outstanding = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    if (outstanding && !timedOut && !outstanding.writableFinished) {
      outstanding.once('finish', () => socket.destroy());
      return;
    }
    if (error.code === 'ECONNRESET' || !socket.writable || outstanding?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, code, message] = timedOut
      ? [408, ErrorCode.RequestTimeout, 'the request did not arrive in time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, badRequest, 'request headers too large']
        : [400, badRequest, 'malformed HTTP request'];
    const payload = JSON.stringify(body(status, code, message));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(payload)}\r\nconnection: close\r\n\r\n${payload}`,
    );
  });
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
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw tooLarge();
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof ConnectBotError) throw error;
    // The request was cut (the server's request timeout, which has answered 408 already, or the client went
    // away): the client's problem, not a failure of the host.
    throw new ConnectBotError(ErrorCode.RequestTimeout, 'the request body did not arrive in full', {
      cause: error,
    });
  }
  return Buffer.concat(chunks).toString('utf8');
}
