/**
 * A small OTLP/HTTP trace receiver on loopback for tests: `POST /v1/traces` with
 * `application/x-protobuf` bodies (gzip or not), decoded with the OTLP proto (otlp-trace.proto),
 * answered as a collector does (200 with an empty ExportTraceServiceResponse). The spans it
 * received are kept, flattened, with hex ids and plain attribute values.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import protobuf from 'protobufjs';

const root = protobuf.loadSync(path.join(__dirname, 'otlp-trace.proto'));
const Request = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const Response = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');

export const SPAN_KIND = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;

export interface ReceivedSpan {
  service: string;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: (typeof SPAN_KIND)[number];
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string; attributes: Record<string, unknown> }[];
  status: { code: number; message: string };
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** Requests that were not a decodable OTLP protobuf export. */
  rejected: number;
  close(): Promise<void>;
}

type Any = Record<string, unknown>;

function anyValue(v: Any | undefined): unknown {
  if (!v) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('arrayValue' in v) return ((v.arrayValue as Any).values as Any[] | undefined)?.map(anyValue) ?? [];
  if ('kvlistValue' in v) return attributesOf((v.kvlistValue as Any).values as Any[]);
  if ('bytesValue' in v) return Buffer.from(v.bytesValue as Uint8Array).toString('hex');
  return undefined;
}

function attributesOf(kvs: Any[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs ?? []) out[kv.key as string] = anyValue(kv.value as Any);
  return out;
}

const hex = (b: unknown) => (b ? Buffer.from(b as Uint8Array).toString('hex') : '');

export function decodeExport(body: Buffer): ReceivedSpan[] {
  const msg = Request.toObject(Request.decode(body), { longs: String, defaults: false, oneofs: false }) as Any;
  const out: ReceivedSpan[] = [];
  for (const rs of (msg.resourceSpans as Any[] | undefined) ?? []) {
    const resource = attributesOf(((rs.resource as Any | undefined)?.attributes as Any[]) ?? []);
    for (const ss of (rs.scopeSpans as Any[] | undefined) ?? []) {
      const scope = String((ss.scope as Any | undefined)?.name ?? '');
      for (const s of (ss.spans as Any[] | undefined) ?? []) {
        out.push({
          service: String(resource['service.name'] ?? ''),
          scope,
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: String(s.name ?? ''),
          kind: SPAN_KIND[Number(s.kind ?? 0)] ?? 'UNSPECIFIED',
          startNs: BigInt(String(s.startTimeUnixNano ?? 0)),
          endNs: BigInt(String(s.endTimeUnixNano ?? 0)),
          attributes: attributesOf(s.attributes as Any[]),
          links: ((s.links as Any[] | undefined) ?? []).map((l) => ({
            traceId: hex(l.traceId),
            spanId: hex(l.spanId),
            attributes: attributesOf(l.attributes as Any[]),
          })),
          status: { code: Number((s.status as Any | undefined)?.code ?? 0), message: String((s.status as Any | undefined)?.message ?? '') },
        });
      }
    }
  }
  return out;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const receiver: OtlpReceiver = { url: '', spans: [], rejected: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        if (req.method !== 'POST' || req.url !== '/v1/traces') throw new Error(`unexpected ${req.method} ${req.url}`);
        if (!String(req.headers['content-type']).startsWith('application/x-protobuf')) throw new Error('not protobuf');
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
        receiver.spans.push(...decodeExport(body));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' });
        res.end(Buffer.from(Response.encode(Response.create({})).finish()));
      } catch (err) {
        receiver.rejected++;
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end((err as Error).message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return receiver;
}
