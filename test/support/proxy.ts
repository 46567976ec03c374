import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type EditingProxy = Awaited<ReturnType<typeof answerEditingProxy>>;

/**
 * A proxy in front of the emulator's API that can edit successful answers (the next `count` 200 answers to
 * requests under `path` are passed through `change`: a service answering without a field, or with another URL)
 * and hold a request in flight.
 */
export async function answerEditingProxy(target: string) {
  const edits: Array<{ path: string; count: number; change: (body: Record<string, unknown>) => void }> = [];
  const holds: string[] = [];
  const held: Array<() => void> = [];
  const server = createServer((req, res) => {
    const hold = holds.findIndex((path) => req.url?.startsWith(path));
    if (hold >= 0) {
      holds.splice(hold, 1);
      held.push(() => forward(req, res));
      return;
    }
    forward(req, res);
  });
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const upstream = request(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          let body = Buffer.concat(chunks);
          const edit = edits.find((e) => e.count > 0 && req.url?.startsWith(e.path));
          if (edit && answer.statusCode === 200) {
            edit.count--;
            const json = JSON.parse(body.toString()) as Record<string, unknown>;
            edit.change(json);
            body = Buffer.from(JSON.stringify(json));
          }
          const headers = { ...answer.headers, 'content-length': String(body.length) };
          res.writeHead(answer.statusCode ?? 502, headers).end(body);
        });
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    edit: (path: string, count: number, change: (body: Record<string, unknown>) => void) =>
      edits.push({ path, count, change }),
    /** The next `count` answers under `path` lack `field`. */
    strip: (path: string, field: string, count: number) =>
      edits.push({ path, count, change: (body) => delete body[field] }),
    /** Holds the next request under `path` (it stays in flight) until {@link release}. */
    hold: (path: string) => holds.push(path),
    get held() {
      return held.length;
    },
    /** Lets the held requests go on to the emulator. */
    release: () => {
      for (const go of held.splice(0)) go();
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
