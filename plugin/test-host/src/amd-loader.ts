/**
 * A small AMD loader: enough of `define`/`require` to load a Grafana plugin's dist/module.js the
 * way Grafana does (Grafana uses SystemJS with its AMD extra; a plugin built by the scaffold is one
 * anonymous `define([...deps], factory)`). Shared modules are registered by name before the plugin
 * loads; a dependency that is not registered fails loudly with its name, because in a real Grafana
 * the same import would fail too.
 */

type Factory = (...deps: unknown[]) => unknown;

interface PendingDefine {
  deps: string[];
  factory: Factory | unknown;
}

export interface AmdLoader {
  /** Makes `name` resolvable as a dependency (e.g. `react`, `@grafana/data`). */
  register(name: string, value: unknown): void;
  /** Names registered so far (shown by the host page). */
  names(): string[];
  /**
   * Loads `url` with a <script> tag, as Grafana loads `public/plugins/<id>/module.js`, and resolves
   * with the module's exports. `module.uri` given to the plugin is `url`, so webpack's public path
   * (set from `module.uri` by the scaffold) points at the plugin's folder.
   */
  load(url: string): Promise<Record<string, unknown>>;
}

declare global {
  interface Window {
    define?: ((...args: unknown[]) => void) & { amd?: object };
  }
}

export function createAmdLoader(win: Window = window): AmdLoader {
  const registry = new Map<string, unknown>();
  /** Anonymous defines by the script that made them (document.currentScript while it runs). */
  const defined = new Map<string, PendingDefine>();

  const define = (...args: unknown[]): void => {
    // define(factory) | define(deps, factory) | define(name, deps, factory)
    let deps: string[] = [];
    let factory: unknown;
    if (typeof args[0] === 'string') {
      args = args.slice(1);
    }
    if (Array.isArray(args[0])) {
      deps = args[0] as string[];
      factory = args[1];
    } else {
      factory = args[0];
    }
    const script = win.document.currentScript as HTMLScriptElement | null;
    const key = script?.dataset.amdUrl;
    if (!key) {
      throw new Error('amd-loader: define() called outside a script loaded by the host');
    }
    defined.set(key, { deps, factory });
  };
  define.amd = {};
  win.define = define;

  const resolveDeps = (url: string, deps: string[], exports: Record<string, unknown>): unknown[] => {
    const missing = deps.filter((d) => d !== 'module' && d !== 'exports' && d !== 'require' && !registry.has(d));
    if (missing.length > 0) {
      throw new Error(`amd-loader: ${url} needs modules the host does not provide: ${missing.join(', ')}`);
    }
    return deps.map((d) => {
      if (d === 'module') {
        return { id: url, uri: url, exports };
      }
      if (d === 'exports') {
        return exports;
      }
      if (d === 'require') {
        return (name: string) => {
          if (!registry.has(name)) {
            throw new Error(`amd-loader: require('${name}'): not provided by the host`);
          }
          return registry.get(name);
        };
      }
      return registry.get(d);
    });
  };

  return {
    register(name, value) {
      registry.set(name, value);
    },
    names: () => [...registry.keys()].sort(),
    load(url) {
      return new Promise((resolve, reject) => {
        const script = win.document.createElement('script');
        script.src = url;
        script.dataset.amdUrl = url;
        script.onerror = () => reject(new Error(`amd-loader: could not load ${url}`));
        script.onload = () => {
          const d = defined.get(url);
          if (!d) {
            reject(new Error(`amd-loader: ${url} loaded but did not call define()`));
            return;
          }
          try {
            const exports: Record<string, unknown> = {};
            const value =
              typeof d.factory === 'function'
                ? (d.factory as Factory)(...resolveDeps(url, d.deps, exports))
                : d.factory;
            resolve((value as Record<string, unknown>) ?? exports);
          } catch (err) {
            reject(err);
          }
        };
        win.document.head.appendChild(script);
      });
    },
  };
}
