// How the item vectors of model versions are named in Milvus: one collection per version,
// named after the deployment's alias (which points at the live one), so that deployments
// sharing a Milvus never clash.

/** Version keys the store accepts: they become part of a collection name, and map back from it. */
const VERSION_KEY = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

/** `towerflow_items` + `v20240131-030405` → `towerflow_items_v20240131_030405`. */
export const collectionOf = (alias: string, version: string): string =>
  `${alias}_${version.replaceAll('-', '_')}`;

/** The version a collection of `alias` holds; undefined for a collection of another alias. */
export function versionOf(alias: string, collection: string): string | undefined {
  const prefix = `${alias}_`;
  if (!collection.startsWith(prefix)) return undefined;
  const version = collection.slice(prefix.length).replaceAll('_', '-');
  return VERSION_KEY.test(version) ? version : undefined;
}

/** Refuses a key that would not name one collection of its own (an underscore would not map back). */
export function checkVersionKey(version: string): string {
  if (typeof version !== 'string' || !VERSION_KEY.test(version))
    throw new Error(`not a version key (letters, digits, hyphens): ${JSON.stringify(version)}`);
  return version;
}
