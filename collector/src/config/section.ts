/**
 * A configuration section owned by a feature (auth, evm, telemetry): its defaults, its JSON schema,
 * its environment variables and its cross-field checks. The loader (load-config.ts) validates every
 * registered section the same way; it imports no feature code. The sections are listed once, in
 * collector-config.ts.
 */
export interface EnvVar {
  /** Path of the option inside the section (or inside the core config for core variables). */
  path: string[];
  type: 'string' | 'int' | 'bool' | 'list';
}

export interface ConfigSection<T = unknown> {
  /** The top-level key of the section (`auth`, `evm`, `telemetry`). */
  readonly key: string;
  readonly defaults: T;
  /** JSON schema of the section after defaults are applied (additionalProperties: false). */
  readonly schema: object;
  /** Environment variables that set options of this section. */
  readonly env?: Readonly<Record<string, EnvVar>>;
  /**
   * Checks a JSON schema cannot express; every problem, each with its path. Runs on the merged,
   * not yet frozen section (it may resolve secrets from `env` into it: auth).
   */
  problems?(section: T, env: Readonly<Record<string, string | undefined>>): string[];
}
