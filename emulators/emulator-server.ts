/**
 * The HTTP plumbing both emulators share: listening, body reading, the control routes
 * (`/_emulator/faults`, `/_emulator/stats`), socket tracking so a held ("hung") request never keeps
 * the process alive after {@link EmulatorHandle.close}, and latency that stops when the client leaves.
 *
 * Plain HTTP/1.1 by default. With `tls`, one TLS listener serves both HTTP/2 (ALPN `h2`, what the
 * AWS SDK's default `NodeHttp2Handler` speaks) and HTTP/1.1 (ALPN `http/1.1`), through node's
 * HTTP/2 compatibility API, so the routers are the same for both.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { type FaultInjector, FaultSettingsError, parseFaultSettings, type EmulatorStats } from './fault-injector';

/** A running emulator. */
export interface EmulatorHandle {
  /** Base URL, e.g. `http://127.0.0.1:4010` (no trailing slash). */
  url: string;
  port: number;
  /** Run-time fault and latency control (same as `POST /_emulator/faults`). */
  faults: FaultInjector;
  /** Counters (same as `GET /_emulator/stats`). */
  stats(): EmulatorStats;
  /** Stops listening and destroys every open socket, including held ones. Idempotent. */
  close(): Promise<void>;
}

/** One parsed request handed to an emulator's router. */
export interface EmulatorRequest {
  method: string;
  /** Decoded-as-needed by the router: the raw path without the query string. */
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** Helpers given to the router for one request. */
export interface EmulatorContext {
  faults: FaultInjector;
  /** Waits `ms`; resolves false (early) if the client went away meanwhile. */
  delay(ms: number): Promise<boolean>;
  /** True once the client has closed the connection. */
  clientGone(): boolean;
}

export type EmulatorRouter = (req: EmulatorRequest, res: ServerResponse, ctx: EmulatorContext) => Promise<void>;

/** Options of {@link startEmulatorServer}. */
export interface EmulatorServerOptions {
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  faults: FaultInjector;
  router: EmulatorRouter;
  /** Writes an error in the emulated service's shape (used for crashes and oversized bodies). */
  sendError(res: ServerResponse, status: number, message: string): void;
  /** Largest request body accepted, in bytes. Default 16 MiB. */
  maxBodyBytes?: number;
  /** The emulator's own control routes under `/_emulator/`, tried before the shared ones; true when it answered. */
  control?: (req: EmulatorRequest, res: ServerResponse) => boolean;
  /** Serve HTTPS (HTTP/2 via ALPN h2, HTTP/1.1 via ALPN http/1.1) with this key and certificate. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

/** True once the response can no longer be written (HTTP/1.1 socket or HTTP/2 stream gone). */
function closed(res: ServerResponse): boolean {
  return res.destroyed || (res as unknown as { stream?: { destroyed?: boolean } }).stream?.destroyed === true;
}

/** Writes a JSON body with a Content-Length. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

class BodyTooLargeError extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLargeError(`request body exceeds ${limit} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function control(req: EmulatorRequest, res: ServerResponse, faults: FaultInjector): Promise<boolean> {
  const route = `${req.method} ${req.path}`;
  if (route === 'GET /_emulator/stats') {
    sendJson(res, 200, faults.stats());
  } else if (route === 'DELETE /_emulator/stats') {
    faults.resetStats();
    sendJson(res, 200, faults.stats());
  } else if (route === 'GET /_emulator/faults') {
    sendJson(res, 200, { latencyMs: faults.latencyMs, faults: faults.faults });
  } else if (route === 'POST /_emulator/faults') {
    try {
      faults.set(parseFaultSettings(JSON.parse(req.body.toString('utf8') || '{}')));
    } catch (err) {
      const message = err instanceof FaultSettingsError ? err.message : `body is not JSON: ${(err as Error).message}`;
      sendJson(res, 400, { error: message });
      return true;
    }
    sendJson(res, 200, { latencyMs: faults.latencyMs, faults: faults.faults });
  } else if (route === 'DELETE /_emulator/faults') {
    faults.reset();
    sendJson(res, 200, { latencyMs: faults.latencyMs, faults: faults.faults });
  } else if (req.path.startsWith('/_emulator/')) {
    sendJson(res, 404, { error: `no control route ${route}; try GET|DELETE /_emulator/stats, GET|POST|DELETE /_emulator/faults` });
  } else {
    return false;
  }
  return true;
}

/** Starts an HTTP/1.1 emulator server and resolves once it listens. */
export async function startEmulatorServer(opts: EmulatorServerOptions): Promise<EmulatorHandle> {
  const { faults, router, sendError } = opts;
  const maxBodyBytes = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  const sockets = new Set<Socket>();

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    let gone = false;
    res.on('close', () => {
      gone = true;
    });
    const ctx: EmulatorContext = {
      faults,
      clientGone: () => gone || closed(res),
      delay: (ms) =>
        new Promise((resolve) => {
          if (gone || closed(res)) return resolve(false);
          if (ms <= 0) return resolve(true);
          const onClose = () => {
            clearTimeout(timer);
            resolve(false);
          };
          const timer = setTimeout(() => {
            res.off('close', onClose);
            resolve(true);
          }, ms);
          res.once('close', onClose);
        }),
    };
    void (async () => {
      try {
        const body = await readBody(req, maxBodyBytes);
        const request: EmulatorRequest = {
          method: req.method ?? 'GET',
          path: (req.url ?? '/').split('?')[0]!,
          headers: req.headers,
          body,
        };
        if (opts.control?.(request, res) || (await control(request, res, faults))) return;
        await router(request, res, ctx);
      } catch (err) {
        if (res.headersSent) {
          res.destroy();
        } else if (err instanceof BodyTooLargeError) {
          sendError(res, 413, err.message);
        } else {
          sendError(res, 500, `emulator error: ${(err as Error).message}`);
        }
      }
    })();
  };
  // The HTTP/2 compatibility request/response carry the same methods the routers use.
  const server = opts.tls
    ? http2.createSecureServer({ key: opts.tls.key, cert: opts.tls.cert, allowHTTP1: true }, onRequest as never)
    : http.createServer(onRequest);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address, family } = server.address() as AddressInfo;
  // A wildcard bind is reached through loopback.
  const reachable = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address;
  const hostForUrl = family === 'IPv6' ? `[${reachable}]` : reachable;

  let closing: Promise<void> | undefined;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${hostForUrl}:${port}`,
    port,
    faults,
    stats: () => faults.stats(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
