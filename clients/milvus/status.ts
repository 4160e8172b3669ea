// Every Milvus answer checked the same way: a failure becomes a MilvusError naming the call.

export class MilvusError extends Error {
  override name = 'MilvusError';
}

// biome-ignore lint/suspicious/noExplicitAny: SDK result shapes vary per call
export type AnyResult = any;

/**
 * Every SDK result carries a status; the SDK turns a gRPC UNIMPLEMENTED into an empty object,
 * so a missing status is a failure too.
 */
export function checkStatus(what: string, res: AnyResult): AnyResult {
  if (res === null || res === undefined) throw new MilvusError(`${what}: no result`);
  const st = res.status && typeof res.status === 'object' ? res.status : res;
  if (st.error_code === undefined && st.code === undefined)
    throw new MilvusError(`${what}: the server returned no status (unsupported call?)`);
  const ok = (st.error_code === undefined || st.error_code === 'Success' || st.error_code === 0) && !st.code;
  if (!ok) throw new MilvusError(`${what}: ${st.error_code ?? st.code} ${st.reason ?? ''}`.trim());
  return res;
}
