import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A proxy in front of the emulator's API that can edit successful answers: the next `count` 200 answers to
 * requests under `path` are passed through `change` (a service answering without a field, or with another URL).
 */
export type EditingProxy = Awaited<ReturnType<typeof answerEditingProxy>>;

export async function answerEditingProxy(target: string) {
  const edits: Array<{ path: string; count: number; change: (body: Record<string, unknown>) => void }> = [];
  const server = createServer((req, res) => {
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
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    edit: (path: string, count: number, change: (body: Record<string, unknown>) => void) =>
      edits.push({ path, count, change }),
    /** The next `count` answers under `path` lack `field`. */
    strip: (path: string, field: string, count: number) =>
      edits.push({ path, count, change: (body) => delete body[field] }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
