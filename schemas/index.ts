export { BehaviourEvent } from './behaviour.js';
export { Exposure } from './exposure.js';
export { ID_PATTERN, SCHEMA_VERSION } from './ids.js';
export { ItemEvent } from './item.js';
export { UserProfileEvent } from './user.js';
export {
  behaviourContract,
  type Contract,
  describeErrors,
  exposureContract,
  type FieldError,
  type IndexedFieldError,
  itemContract,
  userContract,
  validateBatch,
} from './validate.js';
