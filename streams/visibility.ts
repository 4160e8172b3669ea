/**
 * Buckets of `towerflow_stream_visible_seconds`: 5 s is the freshness objective's threshold
 * (docs/slos.md), so it must stay a bucket boundary.
 */
export const VISIBLE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];

/**
 * Seconds from a Kafka record's timestamp (the ingest API's producer stamps each event when it
 * sends it, i.e. when the event was accepted) to `nowMs`, the moment its batch was written:
 * how long the event took to become visible in the processor's store. Undefined when the record
 * carries no usable timestamp (missing, not a number, or Kafka's -1); a record stamped by a host
 * whose clock runs ahead gives 0, not a negative time.
 */
export function visibleSeconds(timestamp: string, nowMs: number): number | undefined {
  const ts = Number(timestamp);
  if (timestamp === '' || !Number.isFinite(ts) || ts <= 0) return undefined;
  return Math.max(0, nowMs - ts) / 1000;
}
