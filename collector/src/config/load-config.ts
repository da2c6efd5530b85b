/**
 * The only place that reads the configuration file and process.env. Everything else receives the
 * frozen result: read once, validate, freeze, pass down. Feature sections (auth, evm, telemetry)
 * come in as ConfigSections (section.ts): this file knows none of them (collector-config.ts lists them).
 */
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { isChannelName } from '@streamgauge/protocol';
import { ConfigError } from '../errors';
import type { DeepPartial, DeepReadonly } from './deep-types';
import { DEFAULTS } from './defaults';
import { configSchema } from './schema';
import type { ConfigSection, EnvVar } from './section';

/** The core options (everything but the feature sections). */
export type CoreConfig = typeof DEFAULTS;

export type { DeepPartial, DeepReadonly };

/** Environment variables of the core options and the option each one sets (documented in docs/configuration.md). */
export const ENV_VARS: Readonly<Record<string, EnvVar>> = {
  SG_HOST: { path: ['server', 'host'], type: 'string' },
  SG_PORT: { path: ['server', 'port'], type: 'int' },
  SG_INSTANCE_NAME: { path: ['server', 'instanceName'], type: 'string' },
  SG_STORE: { path: ['store', 'type'], type: 'string' },
  SG_SQLITE_PATH: { path: ['store', 'path'], type: 'string' },
  SG_REDIS_URLS: { path: ['store', 'redis', 'urls'], type: 'list' },
  SG_ALLOWED_ORIGINS: { path: ['ws', 'allowedOrigins'], type: 'list' },
  SG_LOG_LEVEL: { path: ['log', 'level'], type: 'string' },
  SG_DEMO: { path: ['demo', 'enabled'], type: 'bool' },
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; arrays and scalars replace. */
export function deepMerge<T>(base: T, over: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(over)) {
    return (over === undefined ? base : over) as T;
  }
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = k in base ? deepMerge((base as Record<string, unknown>)[k], v) : v;
  }
  return out as T;
}

export function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) {
      deepFreeze(v);
    }
  }
  return o;
}

function envOverrides(vars: Readonly<Record<string, EnvVar>>, env: NodeJS.ProcessEnv, problems: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(vars)) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      continue;
    }
    let value: unknown = raw;
    if (spec.type === 'int') {
      value = Number(raw);
      if (!Number.isInteger(value)) {
        problems.push(`${name}=${JSON.stringify(raw)}: must be an integer`);
        continue;
      }
    } else if (spec.type === 'bool') {
      if (!['true', 'false', '1', '0'].includes(raw)) {
        problems.push(`${name}=${JSON.stringify(raw)}: must be true or false`);
        continue;
      }
      value = raw === 'true' || raw === '1';
    } else if (spec.type === 'list') {
      value = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    }
    let node = out;
    spec.path.slice(0, -1).forEach((k) => {
      node = (node[k] ??= {}) as Record<string, unknown>;
    });
    node[spec.path[spec.path.length - 1]] = value;
  }
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new WeakMap<readonly ConfigSection[], ReturnType<typeof ajv.compile>>();

/** Cross-field checks of the core options that a JSON schema cannot express. */
function semanticProblems(c: DeepReadonly<CoreConfig>): string[] {
  const problems: string[] = [];
  if (c.ws.heartbeatTimeoutMs >= c.ws.heartbeatIntervalMs) {
    problems.push(
      `ws.heartbeatTimeoutMs (${c.ws.heartbeatTimeoutMs}) must be smaller than ws.heartbeatIntervalMs (${c.ws.heartbeatIntervalMs})`,
    );
  }
  if (c.ws.path === c.sse.path) {
    problems.push(`ws.path and sse.path must differ (both are ${c.ws.path})`);
  }
  if (c.limits.maxMessageBytes > c.limits.maxBodyBytes) {
    problems.push(`limits.maxMessageBytes (${c.limits.maxMessageBytes}) cannot exceed limits.maxBodyBytes (${c.limits.maxBodyBytes})`);
  }
  if (c.limits.maxBodyBytesInFlight < c.limits.maxBodyBytes) {
    problems.push(
      `limits.maxBodyBytesInFlight (${c.limits.maxBodyBytesInFlight}) must be at least limits.maxBodyBytes (${c.limits.maxBodyBytes}): a body of the largest allowed size must fit`,
    );
  }
  const seen = new Set<string>();
  c.channels.definitions.forEach((d, i) => {
    if (!isChannelName(d.name)) {
      problems.push(
        `channels.definitions[${i}].name ${JSON.stringify(d.name)}: not a valid channel name (lower-case segments separated by '/')`,
      );
    }
    if (seen.has(d.name)) {
      problems.push(`channels.definitions[${i}].name ${JSON.stringify(d.name)}: defined twice`);
    }
    seen.add(d.name);
    if ((d.kind === 'state' || d.kind === 'entity') && !d.keyField) {
      problems.push(`channels.definitions[${i}] (${d.name}): kind ${d.kind} needs keyField`);
    }
  });
  return problems;
}

/**
 * Builds the frozen configuration of the core options and `sections` from defaults, an optional
 * file object and environment variables (environment wins). Throws ConfigError listing every
 * problem with its path.
 */
export function resolveConfigWith<S>(
  sections: readonly ConfigSection[],
  fileConfig: unknown = {},
  env: NodeJS.ProcessEnv = {},
  source = 'config',
): DeepReadonly<CoreConfig & S> {
  const problems: string[] = [];
  if (fileConfig !== null && fileConfig !== undefined && !isPlainObject(fileConfig)) {
    throw new ConfigError(['the file must hold a mapping of options at its top level'], source);
  }
  const defaults: Record<string, unknown> = structuredClone({ ...DEFAULTS });
  const vars: Record<string, EnvVar> = { ...ENV_VARS };
  for (const s of sections) {
    defaults[s.key] = structuredClone(s.defaults);
    for (const [name, v] of Object.entries(s.env ?? {})) {
      vars[name] = { ...v, path: [s.key, ...v.path] };
    }
  }
  let validate = validators.get(sections);
  if (!validate) {
    validators.set(sections, (validate = ajv.compile(configSchema(sections))));
  }
  const merged = deepMerge(deepMerge(defaults, fileConfig ?? {}), envOverrides(vars, env, problems)) as Record<string, unknown>;
  if (problems.length) {
    throw new ConfigError(problems, 'environment');
  }
  if (!validate(merged)) {
    for (const e of validate.errors ?? []) {
      const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(top level)';
      const extra =
        e.keyword === 'additionalProperties'
          ? `: unknown option ${JSON.stringify((e.params as { additionalProperty: string }).additionalProperty)}`
          : e.keyword === 'enum'
            ? `: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
            : ` ${e.message}`;
      problems.push(`${where}${extra}`);
    }
  }
  const config = merged as unknown as DeepReadonly<CoreConfig & S>;
  // Every problem at once: the cross-field checks run even when the schema already failed. On a
  // shape the schema refused they may throw; what they found until then is still reported.
  const semantic: string[] = [];
  for (const check of [
    () => semanticProblems(config),
    // A section may read `env` here (auth: keyEnv, secretEnv), the one place that may.
    ...sections.map((s) => () => s.problems?.(merged[s.key], env) ?? []),
  ]) {
    try {
      semantic.push(...check());
    } catch (err) {
      if (problems.length === 0) {
        throw err;
      }
    }
  }
  if (problems.length || semantic.length) {
    throw new ConfigError([...problems, ...semantic], source);
  }
  return deepFreeze(config);
}

/** Reads a YAML (or JSON) file, then resolves it with the environment. */
export function loadConfigWith<S>(
  sections: readonly ConfigSection[],
  path: string | undefined,
  env: NodeJS.ProcessEnv,
): DeepReadonly<CoreConfig & S> {
  let fileConfig: unknown = {};
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError([`cannot read ${path}: ${(err as Error).message}`], path);
    }
    try {
      fileConfig = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError([`not valid YAML: ${(err as Error).message}`], path);
    }
  }
  return resolveConfigWith<S>(sections, fileConfig, env, path ?? 'defaults');
}
