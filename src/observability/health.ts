import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { BotHost } from '../host/host.js';
import type { HostMetrics } from './metrics.js';

export interface HealthServerOptions {
  host?: string;
  port?: number;
  /** /livez fails when the event loop's p99 delay over the last window exceeds this. Default 2 000 ms. */
  maxEventLoopDelayMs?: number;
}

/**
 * Metrics and health on their own port (so a load balancer never scrapes the join endpoint):
 * `/metrics` (Prometheus), `/livez` (the event loop answers in time; never depends on Connect), `/readyz`
 * (503 while starting, draining or at capacity).
 */
export class HealthServer {
  private readonly server: Server;
  private readonly delay = monitorEventLoopDelay({ resolution: 20 });
  private started = false;

  constructor(
    private readonly host: BotHost,
    private readonly metrics: HostMetrics,
    private readonly options: HealthServerOptions = {},
  ) {
    this.server = createServer((req, res) => {
      // The path of an origin-form target (`/readyz?x`) or an absolute-form one (`http://host/readyz`).
      const target = req.url ?? '/';
      const path = (
        target.startsWith('/') ? target : target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '')
      ).split('?')[0];
      const reply = (status: number, body: string, type = 'text/plain; charset=utf-8', extra = {}) => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...extra });
        res.end(body);
      };
      const known = path === '/metrics' || path === '/livez' || path === '/readyz';
      if (known && req.method !== 'GET' && req.method !== 'HEAD')
        return reply(405, 'method not allowed\n', undefined, { allow: 'GET, HEAD' });
      switch (path) {
        case '/metrics':
          this.metrics.text().then(
            (text) => reply(200, text, this.metrics.registry.contentType),
            (error: unknown) => reply(500, `${(error as Error).message}\n`),
          );
          return;
        case '/livez': {
          const p99 = this.delay.percentile(99) / 1e6;
          this.delay.reset();
          const limit = this.options.maxEventLoopDelayMs ?? 2000;
          return p99 > limit ? reply(503, `event loop delay p99 ${p99.toFixed(0)} ms\n`) : reply(200, 'ok\n');
        }
        case '/readyz': {
          const reason = !this.started
            ? 'starting'
            : !this.host.isAccepting
              ? 'draining'
              : this.host.atCapacity
                ? 'at capacity'
                : undefined;
          return reason ? reply(503, `${reason}\n`) : reply(200, 'ready\n');
        }
        default:
          return reply(404, 'not found: /metrics, /livez, /readyz\n');
      }
    });
    this.server.keepAliveTimeout = 5000;
  }

  async listen(): Promise<string> {
    this.delay.enable();
    this.server.listen(this.options.port ?? 9464, this.options.host ?? '127.0.0.1');
    await once(this.server, 'listening');
    return this.url;
  }

  /** Marks start-up complete: /readyz can report ready. */
  markStarted(): void {
    this.started = true;
  }

  get url(): string {
    const { address, port } = this.server.address() as AddressInfo;
    return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  }

  async close(): Promise<void> {
    this.delay.disable();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
