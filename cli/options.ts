import { InvalidArgumentError } from 'commander';

/** Commander parser for a positive whole-number option; the message names the option. */
export function positiveInt(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) <= 0)
      throw new InvalidArgumentError(`${name} must be a positive integer`);
    return Number(v);
  };
}

/** Commander parser for a positive number option. */
export function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}
