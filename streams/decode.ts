import type { ConsumedRecord } from '../clients/kafka/consumer.js';
import type { TopicRole } from '../clients/kafka/topics.js';
import {
  behaviourContract,
  describeErrors,
  exposureContract,
  itemContract,
  userContract,
} from '../schemas/index.js';

/** The contract that validates each topic's records. */
export const CONTRACTS = {
  behaviour: behaviourContract,
  items: itemContract,
  users: userContract,
  exposures: exposureContract,
} as const;

export type DecodableRole = keyof typeof CONTRACTS;

/** Why a record was dead-lettered, as a bounded label (the full reason goes with the record). */
export const DLQ_KINDS = ['no_contract', 'empty', 'not_json', 'invalid'] as const;
export type DlqKind = (typeof DLQ_KINDS)[number];

export type Decoded = { ok: true; value: unknown } | { ok: false; kind: DlqKind; reason: string };

/** Parses and validates one record with its topic's contract; the reason names what is wrong. */
export function decodeRecord(role: TopicRole, record: ConsumedRecord): Decoded {
  const contract = CONTRACTS[role as DecodableRole];
  if (!contract) return { ok: false, kind: 'no_contract', reason: `no contract for topic role ${role}` };
  if (!record.value || record.value.length === 0)
    return { ok: false, kind: 'empty', reason: 'empty record value' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.value.toString('utf8'));
  } catch (e) {
    return { ok: false, kind: 'not_json', reason: `not JSON: ${(e as Error).message}` };
  }
  const r = contract.validate(parsed);
  return r.ok
    ? { ok: true, value: r.value }
    : { ok: false, kind: 'invalid', reason: `invalid ${contract.name}: ${describeErrors(r.errors)}` };
}
