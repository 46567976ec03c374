/** Contact attribute rules (UpdateContactAttributes, protocol.md §1.4–1.5). */
const KEY = /^[A-Za-z0-9_-]{1,32767}$/;
const MAX_VALUE = 32767;
const MAX_TOTAL_BYTES = 32768;

/**
 * What Connect would refuse in a contact attribute map (keys of letters, digits, `-` and `_`; string values of
 * at most 32767 characters; 32 KB of UTF-8 across all pairs), or undefined when it is fine.
 */
export function attributesProblem(attributes: Record<string, unknown>): string | undefined {
  if (!isPlainObject(attributes)) return 'attributes must be an object of string values';
  let total = 0;
  for (const [key, value] of Object.entries(attributes)) {
    if (!KEY.test(key)) {
      return `attribute key ${JSON.stringify(key.slice(0, 64))} must be 1-32767 letters, digits, "-" or "_"`;
    }
    if (typeof value !== 'string') return `attribute "${key}" must be a string`;
    if (value.length > MAX_VALUE) return `attribute "${key}" must be at most ${MAX_VALUE} characters`;
    total += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (total > MAX_TOTAL_BYTES) return `attributes must be at most ${MAX_TOTAL_BYTES} bytes of UTF-8 in total`;
  return undefined;
}

function isPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
