import type { Config } from '../collector-config';
import { createDemoSource } from './demo/demo-source';
import { createEvmSources } from './evm/evm-source';
import type { Source } from './source';

export type { Source, SourceContext } from './source';

/** The sources the config asks for, in start order. */
export function createSources(config: Config): Source[] {
  const sources: Source[] = [];
  if (config.demo.enabled) {
    sources.push(createDemoSource(config.demo));
  }
  sources.push(...createEvmSources(config.evm));
  return sources;
}
