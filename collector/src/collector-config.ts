/**
 * The collector's configuration: the core options (config/) and the sections features own and
 * register here (auth, evm, telemetry). The one place that composes them, so that config/ imports no
 * feature and each feature imports only its own section.
 */
import type { AuthConfig } from './auth/config';
import { authSection } from './auth/config-section';
import type { DeepPartial, DeepReadonly } from './config/deep-types';
import { type CoreConfig, loadConfigWith, resolveConfigWith } from './config/load-config';
import type { ConfigSection } from './config/section';
import { type EvmConfig, evmConfigSection } from './sources/evm/config';
import { telemetrySection, type TelemetryConfig } from './telemetry/config';

interface Sections {
  auth: AuthConfig;
  evm: EvmConfig;
  telemetry: TelemetryConfig;
}

export const CONFIG_SECTIONS: readonly ConfigSection[] = [authSection, evmConfigSection, telemetrySection] as ConfigSection[];

export type Config = DeepReadonly<CoreConfig & Sections>;
export type ConfigInput = DeepPartial<CoreConfig & Sections>;
export type { DeepReadonly };

/** Builds the frozen configuration from defaults, a file object and the environment (ConfigError lists every problem). */
export function resolveConfig(fileConfig: unknown = {}, env: NodeJS.ProcessEnv = {}, source = 'config'): Config {
  return resolveConfigWith<Sections>(CONFIG_SECTIONS, fileConfig, env, source);
}

/** Reads a YAML (or JSON) file, then resolves it with the environment. */
export function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv): Config {
  return loadConfigWith<Sections>(CONFIG_SECTIONS, path, env);
}
