/** An HBase call failed, or a request could not be built (bad column name, unreachable gateway). */
export class HBaseError extends Error {
  override name = 'HBaseError';
}
