// One place for the HBase versions (also read by scripts/gen-hbase-thrift.sh).
// The registry serves hbase-server 2.6.4-hadoop3 but the gateway modules only as 2.6.1: the
// gateways' 2.6.1 jars run on the 2.6.4 core (docs/decisions.md).
export const HBASE_VERSION = '2.6.4-hadoop3';
export const HBASE_GATEWAY_VERSION = '2.6.1';
