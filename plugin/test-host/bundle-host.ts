/**
 * Bundles the host page script (src/host-main.tsx with the real @grafana/data, @grafana/ui,
 * @grafana/runtime, react, react-dom, rxjs) for the browser with esbuild. The plugin itself is
 * never bundled here: it is loaded from its built dist/module.js.
 */
import { build } from 'esbuild';
import { join } from 'node:path';

export interface HostBundle {
  js: string;
  css: string;
  /** Other files (fonts, images) referenced by the bundle, by URL path under /host/. */
  assets: Map<string, Uint8Array>;
}

/** One bundle per process: every host server started by a test file serves the same page script. */
let cached: Promise<HostBundle> | undefined;

export function bundleHost(): Promise<HostBundle> {
  cached ??= buildBundle();
  // A failed build is not cached, so a later call can retry.
  cached.catch(() => (cached = undefined));
  return cached;
}

async function buildBundle(): Promise<HostBundle> {
  const result = await build({
    entryPoints: [join(__dirname, 'src', 'host-main.tsx')],
    bundle: true,
    write: false,
    outdir: '/host',
    publicPath: '/host',
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    jsx: 'automatic',
    minify: false,
    sourcemap: false,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    loader: {
      '.svg': 'file',
      '.png': 'file',
      '.woff': 'file',
      '.woff2': 'file',
      '.ttf': 'file',
      '.eot': 'file',
    },
    absWorkingDir: join(__dirname, '..', '..'),
  });
  const out: HostBundle = { js: '', css: '', assets: new Map() };
  for (const f of result.outputFiles) {
    if (f.path === '/host/host-main.js') {
      out.js = f.text;
    } else if (f.path === '/host/host-main.css') {
      out.css = f.text;
    } else {
      out.assets.set(f.path, f.contents);
    }
  }
  return out;
}
