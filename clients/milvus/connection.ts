// One Milvus connection: the SDK's client, pre-encoded calls on its own gRPC channels, and the
// collection schemas those calls need.
import { MilvusClient } from '@zilliz/milvus2-sdk-node';
import type { Config } from '../../config/index.js';
import type { SchemaField } from './columnWrite.js';
import { type AnyResult, checkStatus, MilvusError } from './status.js';

export function createMilvus(
  cfg: Pick<Config, 'milvusAddress' | 'milvusToken'>,
  timeoutMs = 60_000,
): MilvusClient {
  const client = new MilvusClient({
    address: cfg.milvusAddress,
    token: cfg.milvusToken || undefined,
    timeout: timeoutMs,
    // the SDK's default heartbeats go to the Milvus server itself; nothing leaves the cluster, but off is quieter
    telemetry: { enabled: false },
    logLevel: 'error',
    // a long unary call (index build) sends no data: Python gRPC servers (milvus-lite) GOAWAY on frequent pings
    channelOptions: { 'grpc.keepalive_time_ms': 300_000 },
  } as ConstructorParameters<typeof MilvusClient>[0]);
  // The SDK's connect handshake runs in the background and nothing awaits it when Milvus is down
  // at start: observed here so that it cannot crash the process as an unhandled rejection.
  // Data calls do not wait for it and work once Milvus is reachable.
  (client as unknown as { connectPromise?: Promise<unknown> }).connectPromise?.catch(() => {});
  return client;
}

export interface UnaryOptions {
  /** Replaces the SDK's deserializer; may hand back a MilvusError as the answer. */
  decode?: (bytes: Buffer) => unknown;
  /** false: the SDK's interceptors but its retrying one. */
  retry?: boolean;
}

/** The SDK's client, shared by the admin, write, search and query modules. */
export class MilvusConnection {
  /** The SDK's interceptors without its retrying one (the list it gives its heartbeats). */
  private readonly noRetryInterceptors: unknown[] | undefined;
  /** Collections whose next call re-reads the schema instead of the SDK's describe cache. */
  private readonly staleSchemas = new Set<string>();

  constructor(readonly client: MilvusClient) {
    const list = (client as AnyResult).telemetryChannelOptions?.interceptors;
    this.noRetryInterceptors = Array.isArray(list) && list.length > 0 ? list : undefined;
  }

  static fromConfig(
    cfg: Pick<Config, 'milvusAddress' | 'milvusToken'>,
    timeoutMs?: number,
  ): MilvusConnection {
    return new MilvusConnection(createMilvus(cfg, timeoutMs));
  }

  /** The SDK's protobuf root (milvus.proto.*), for the request encoders. */
  get proto(): AnyResult {
    return (this.client as AnyResult).milvusProto;
  }

  /**
   * One pre-encoded unary call on one of the SDK's own gRPC channels, so that its interceptors
   * (auth, database, retries) and deadline apply as usual; its status checked. `decode`
   * replaces the SDK's deserializer and may hand back a MilvusError as the answer.
   * `retry: false` keeps the SDK's interceptors but its retrying one, which also serializes
   * every request and answer to JSON for a debug log line, whatever the log level.
   */
  async unary(
    what: string,
    collection: string,
    methodName: string,
    body: Uint8Array,
    summary: Record<string, unknown>,
    opts: UnaryOptions = {},
  ): Promise<AnyResult> {
    const pool = this.client.channelPool;
    const channel: AnyResult = await pool.acquire();
    try {
      const method = channel[methodName];
      const answer = await new Promise((resolve, reject) => {
        // the SDK's retry interceptor logs each request as JSON: a summary, not the bytes
        const request = { body, toJSON: () => summary };
        channel.makeUnaryRequest(
          method.path,
          (r: typeof request) => Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength),
          opts.decode ?? method.responseDeserialize,
          request,
          {
            deadline: new Date(Date.now() + (this.client.timeout || 60_000)),
            // call interceptors replace the channel's (grpc-js); the SDK's list without retries
            ...(opts.retry === false && this.noRetryInterceptors
              ? { interceptors: this.noRetryInterceptors }
              : {}),
          },
          (err: Error | null, out: unknown) => (err ? reject(err) : resolve(out)),
        );
      });
      if (answer instanceof MilvusError) throw answer;
      return checkStatus(what, answer);
    } catch (e) {
      // a collection dropped and recreated elsewhere under this name may have another schema
      this.staleSchemas.add(collection);
      if (e instanceof MilvusError) throw e;
      throw new MilvusError(`${what}: ${(e as Error).message}`);
    } finally {
      await pool.release(channel);
    }
  }

  /** The collection's fields, from the SDK's bounded describe cache (which its drops invalidate). */
  async fields(name: string): Promise<SchemaField[]> {
    const res = await this.describe(name, !this.staleSchemas.delete(name));
    return (res.schema?.fields ?? []) as SchemaField[];
  }

  /** The next `fields(name)` reads the schema from Milvus (the cached one may be wrong). */
  markStale(name: string): void {
    this.staleSchemas.add(name);
  }

  describe(name: string, cache: boolean): Promise<AnyResult> {
    return this.client
      .describeCollection({ collection_name: name, cache } as AnyResult)
      .then((res) => checkStatus(`describeCollection ${name}`, res));
  }

  close(): Promise<unknown> {
    return this.client.closeConnection();
  }
}
