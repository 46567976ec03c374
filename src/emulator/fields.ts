import { invalidParameter, type Service } from './errors.js';

interface LengthRule {
  required?: boolean;
  min?: number;
  max?: number;
}

/**
 * Reads and validates members of a JSON request body, failing with the service's own validation
 * error in the wording AWS uses ("Value at 'x' failed to satisfy constraint: ...").
 */
export class Fields {
  constructor(
    private readonly body: Record<string, unknown>,
    private readonly service: Service,
    private readonly path = '',
  ) {}

  private fail(name: string, constraint: string): never {
    throw invalidParameter(
      this.service,
      `1 validation error detected: Value at '${this.path}${name}' failed to satisfy constraint: ${constraint}`,
    );
  }

  private present(name: string, required: boolean | undefined): unknown {
    const value = this.body[name];
    if (value === undefined || value === null) {
      if (required) this.fail(name, 'Member must not be null');
      return undefined;
    }
    return value;
  }

  string(name: string, rule: LengthRule & { required: true }): string;
  string(name: string, rule?: LengthRule): string | undefined;
  string(name: string, rule: LengthRule = {}): string | undefined {
    const value = this.present(name, rule.required);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') this.fail(name, 'Member must be a string');
    this.checkLength(name, value.length, rule);
    return value;
  }

  private checkLength(name: string, length: number, rule: LengthRule): void {
    if (rule.min !== undefined && length < rule.min)
      this.fail(name, `Member must have length greater than or equal to ${rule.min}`);
    if (rule.max !== undefined && length > rule.max)
      this.fail(name, `Member must have length less than or equal to ${rule.max}`);
  }

  int(name: string, rule: { min?: number; max?: number } = {}): number | undefined {
    const value = this.present(name, false);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) this.fail(name, 'Member must be an integer');
    if (rule.min !== undefined && value < rule.min)
      this.fail(name, `Member must have value greater than or equal to ${rule.min}`);
    if (rule.max !== undefined && value > rule.max)
      this.fail(name, `Member must have value less than or equal to ${rule.max}`);
    return value;
  }

  bool(name: string): boolean | undefined {
    const value = this.present(name, false);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') this.fail(name, 'Member must be a boolean');
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], rule: { required: true }): T;
  oneOf<T extends string>(name: string, allowed: readonly T[], rule?: { required?: boolean }): T | undefined;
  oneOf<T extends string>(
    name: string,
    allowed: readonly T[],
    rule: { required?: boolean } = {},
  ): T | undefined {
    const value = this.string(name, { required: rule.required });
    if (value === undefined) return undefined;
    if (!allowed.includes(value as T))
      this.fail(name, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
    return value as T;
  }

  list<T extends string>(name: string, allowed: readonly T[], rule: LengthRule = {}): T[] | undefined {
    const value = this.present(name, rule.required);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) this.fail(name, 'Member must be a list');
    this.checkLength(name, value.length, rule);
    for (const entry of value) {
      if (typeof entry !== 'string' || !allowed.includes(entry as T))
        this.fail(
          name,
          `Member must satisfy constraint: [Member must satisfy enum value set: [${allowed.join(', ')}]]`,
        );
    }
    return value as T[];
  }

  /**
   * A string→string map such as contact `Attributes`: keys 1–32767 chars of letters, digits, `-` and `_`,
   * values 0–32767 chars, at most `maxTotalBytes` UTF-8 bytes across all pairs.
   */
  attributes(
    name: string,
    rule: { required?: boolean; maxTotalBytes?: number } = {},
  ): Record<string, string> | undefined {
    const value = this.present(name, rule.required);
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) this.fail(name, 'Member must be a map');
    let total = 0;
    const result: Record<string, string> = {};
    for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
      if (key.length < 1 || key.length > 32767 || !/^[a-zA-Z0-9_-]+$/.test(key))
        this.fail(name, 'Map keys must be 1-32767 characters of letters, digits, hyphens and underscores');
      if (typeof entry !== 'string') this.fail(`${name}.${key}`, 'Member must be a string');
      if (entry.length > 32767)
        this.fail(`${name}.${key}`, 'Member must have length less than or equal to 32767');
      total += Buffer.byteLength(key) + Buffer.byteLength(entry);
      // Defined, not assigned: a key named `__proto__` is a key like any other, not the object's prototype.
      Object.defineProperty(result, key, {
        value: entry,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    const maxTotal = rule.maxTotalBytes ?? 32768;
    if (total > maxTotal) this.fail(name, `Attributes must not exceed ${maxTotal} bytes in total`);
    return result;
  }

  object(name: string, rule: { required: true }): Fields;
  object(name: string, rule?: { required?: boolean }): Fields | undefined;
  object(name: string, rule: { required?: boolean } = {}): Fields | undefined {
    const value = this.present(name, rule.required);
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) this.fail(name, 'Member must be a structure');
    return new Fields(value as Record<string, unknown>, this.service, `${this.path}${name}.`);
  }

  /** True when the member is absent or an empty object, as chatjs sends `StartPosition: {}`. */
  isEmpty(): boolean {
    return Object.values(this.body).every((value) => value === undefined || value === null);
  }
}
