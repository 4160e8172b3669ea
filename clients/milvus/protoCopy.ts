import protobuf from 'protobufjs';

/**
 * A private copy of the SDK's protobuf root in which one packed `repeated float` field is
 * `bytes` instead: both share one wire format (length-delimited little-endian floats), so the
 * floats travel as one run of bytes, written or read with one copy. The SDK's root is not
 * changed. Undefined when the field is not the expected `repeated float` (another SDK version).
 */
export function withFloatsAsBytes(
  sdkRoot: protobuf.Root,
  typeName: string,
  fieldName: string,
  id: number,
): protobuf.Root | undefined {
  const root = protobuf.Root.fromJSON(sdkRoot.toJSON());
  const type = root.lookupType(typeName);
  const field = type.fields[fieldName];
  if (field?.id !== id || field.type !== 'float' || !field.repeated) return undefined;
  type.remove(field);
  type.add(new protobuf.Field(fieldName, id, 'bytes'));
  return root;
}
