import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { z } from 'zod';
import { ConnectBotError, ErrorCode } from '../errors.js';
import { type Config, configSchema } from './schema.js';

/**
 * Environment variables and the config keys they set. A value is read as the type the schema expects for its
 * key: a number for number keys, `true`/`false` for boolean keys, the text unchanged for everything else
 * (so a secret made of digits stays a string). The schema reports anything that does not fit.
 */
export const ENVIRONMENT_VARIABLES: Readonly<Record<string, string>> = {
  CONNECT_BOT_REGION: 'aws.region',
  AWS_REGION: 'aws.region',
  CONNECT_BOT_ENDPOINT: 'aws.endpoint',
  CONNECT_BOT_BOTS_DIR: 'bots.dir',
  CONNECT_BOT_DEFAULT_BOT: 'bots.default',
  CONNECT_BOT_JOIN_HOST: 'join.host',
  CONNECT_BOT_JOIN_PORT: 'join.port',
  CONNECT_BOT_JOIN_SECRET: 'join.secret',
  CONNECT_BOT_HANDLER_TIMEOUT_MS: 'handlers.timeoutMs',
  CONNECT_BOT_MAX_CHATS: 'host.maxChats',
  CONNECT_BOT_QUOTAS_ENABLED: 'quotas.enabled',
  CONNECT_BOT_ON_SHUTDOWN: 'shutdown.onShutdown',
  CONNECT_BOT_DRAIN_TIMEOUT_MS: 'shutdown.drainTimeoutMs',
  CONNECT_BOT_SHUTDOWN_TIMEOUT_MS: 'shutdown.timeoutMs',
  CONNECT_BOT_LOG_LEVEL: 'log.level',
  CONNECT_BOT_METRICS_HOST: 'metrics.host',
  CONNECT_BOT_METRICS_PORT: 'metrics.port',
};

export interface LoadConfigOptions {
  /** An extra JSON file, applied after `config/default.json` and `config/<env>.json`. */
  file?: string;
  /** Folder holding `default.json` and `<env>.json`. Default `<cwd>/config`. */
  dir?: string;
  /** Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Applied last (tests, the playground). */
  overrides?: Record<string, unknown>;
}

type Tree = Record<string, unknown>;

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Tree, layer: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    // A section over something that is not one (`"bots": ["faq"]` under CONNECT_BOT_DEFAULT_BOT) keeps the
    // wrong value, for the schema to report, rather than replacing it unseen.
    if (isTree(value) && out[key] !== undefined && !isTree(out[key])) continue;
    // Defined, not assigned: a "__proto__" key from JSON stays a key (that the schema refuses), never a prototype.
    Object.defineProperty(out, key, {
      value: isTree(value) && isTree(out[key]) ? merge(out[key] as Tree, value) : value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

async function readLayer(path: string, required: boolean, problems: string[]): Promise<Tree> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (required || code !== 'ENOENT') {
      problems.push(
        `${path}: cannot be read (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder' : (code ?? (error as Error).message)})`,
      );
    }
    return {};
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte order mark, as some editors write
  try {
    const value = JSON.parse(text) as unknown;
    if (!isTree(value)) {
      problems.push(`${path}: must contain a JSON object`);
      return {};
    }
    return value;
  } catch (error) {
    problems.push(`${path}: invalid JSON (${jsonProblem(text, (error as Error).message)})`);
    return {};
  }
}

/**
 * Where a JSON syntax error is, without the file's text: V8's message for an unexpected token quotes the
 * characters around it, which can be part of a secret.
 */
function jsonProblem(text: string, message: string): string {
  const at = /at position (\d+)/.exec(message);
  if (at) {
    const before = text.slice(0, Number(at[1]));
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    return `${message.replace(/ in JSON at position \d+.*$/s, '')} at line ${line}, column ${column}`;
  }
  if (/^Unexpected token/.test(message)) {
    return 'unexpected character: single quotes, an unquoted value or a trailing comma?';
  }
  return message.replace(/,? ".*" is not valid JSON$/s, ' is not valid JSON');
}

/** The schema's type for a dotted config key, seen through defaults, prefaults and optionals. */
function schemaType(key: string): string | undefined {
  let schema: z.ZodType | undefined = configSchema;
  const parts = key.split('.');
  for (let i = 0; ; i++) {
    while (schema && 'innerType' in schema.def) schema = schema.def.innerType as z.ZodType;
    if (!schema || i === parts.length) return schema?.def.type;
    schema = schema.def.type === 'object' ? (schema as z.ZodObject).shape[parts[i]!] : undefined;
  }
}

/** Converts an environment value to the type its key expects; a value that does not fit is left as text. */
function envValue(key: string, raw: string): unknown {
  switch (schemaType(key)) {
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    default:
      return raw;
  }
}

/** Builds the environment's layer; `sources` learns which variable set each config key. */
function envLayer(env: Record<string, string | undefined>, sources: Map<string, string>): Tree {
  let tree: Tree = {};
  // AWS_REGION is a fallback: CONNECT_BOT_REGION wins when both are set.
  const names = Object.keys(ENVIRONMENT_VARIABLES).sort((a, b) =>
    a === 'AWS_REGION' ? -1 : b === 'AWS_REGION' ? 1 : 0,
  );
  for (const name of names) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const configKey = ENVIRONMENT_VARIABLES[name]!;
    sources.set(configKey, name);
    const value = envValue(configKey, raw);
    const path = configKey.split('.');
    const leaf: Tree = { [path.at(-1)!]: value };
    const layer = path.slice(0, -1).reduceRight<Tree>((child, key) => ({ [key]: child }), leaf);
    tree = merge(tree, layer);
  }
  return tree;
}

/** Whether a dotted key is set in a tree. */
function isSet(tree: Tree, key: string): boolean {
  let node: unknown = tree;
  for (const part of key.split('.')) {
    if (!isTree(node) || !Object.hasOwn(node, part)) return false;
    node = node[part];
  }
  return true;
}

/**
 * Loads and validates the configuration. An invalid configuration is one `CB_CONFIG_INVALID` error whose
 * message lists every problem, one per line.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<Config> {
  const env = options.env ?? process.env;
  const dir = resolve(options.dir ?? join(process.cwd(), 'config'));
  const problems: string[] = [];
  // CONNECT_BOT_ENV names a layer that must exist; NODE_ENV's is optional (it means more than our config).
  const named = env.CONNECT_BOT_ENV || undefined;
  const environment = named ?? (env.NODE_ENV || undefined);
  let tree = await readLayer(join(dir, 'default.json'), false, problems);
  if (environment && !/^[\w.-]+$/.test(environment)) {
    problems.push(`${named ? 'CONNECT_BOT_ENV' : 'NODE_ENV'}: "${environment}" is not a config file name`);
  } else if (environment) {
    tree = merge(tree, await readLayer(join(dir, `${environment}.json`), named !== undefined, problems));
  }
  if (options.file) tree = merge(tree, await readLayer(resolve(options.file), true, problems));
  const sources = new Map<string, string>();
  tree = merge(tree, envLayer(env, sources));
  if (options.overrides) {
    tree = merge(tree, options.overrides);
    for (const key of [...sources.keys()]) if (isSet(options.overrides, key)) sources.delete(key);
  }
  const joinSection = isTree(tree.join) ? tree.join : {};
  if (!joinSection.secret && joinSection.allowUnauthenticated !== true) {
    problems.push('join.secret: required (or set join.allowUnauthenticated: true for local development)');
  }
  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path.join('.');
      const source = sources.get(key);
      problems.push(`${key || '(root)'}: ${issue.message}${source ? ` (from ${source})` : ''}`);
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw new ConnectBotError(
      ErrorCode.ConfigInvalid,
      `invalid configuration:\n  - ${problems.join('\n  - ')}`,
    );
  }
  return parsed.data;
}
