/**
 * @grafana/data touches `window` when it is imported (its local-storage helper listens for
 * `storage` events). Node code that uses the frame builder (benchmarks, integration tests) imports
 * this module first; in a browser it does nothing.
 *
 * The stub is a function, not an object: libraries that sniff `typeof window === 'object'` to
 * decide they run in a browser (nano-css via react-use) then keep their server-side path and do
 * not reach for `document`.
 */
const g = globalThis as { window?: unknown };
if (typeof g.window === 'undefined') {
  const noop = () => undefined;
  const storage = new Map<string, string>();
  g.window = Object.assign(function nodeWindow() {}, {
    addEventListener: noop,
    removeEventListener: noop,
    dispatchEvent: () => true,
    // react-use wraps these at import when it thinks it runs in a browser.
    history: { pushState: noop, replaceState: noop },
    localStorage: {
      getItem: (k: string) => storage.get(k) ?? null,
      setItem: (k: string, v: string) => void storage.set(k, String(v)),
      removeItem: (k: string) => void storage.delete(k),
      clear: () => storage.clear(),
    },
  });
}

export {};
