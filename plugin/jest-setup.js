// Jest setup provided by Grafana scaffolding: browser stubs (matchMedia, canvas...). Files that
// run in the node environment (integration tests with real sockets: `@jest-environment node`)
// have no DOM to stub; they get the little that @grafana/data needs at import.
if (typeof document !== 'undefined') {
  require('./.config/jest-setup');
  // The scaffold's canvas stub returns nothing; Combobox measures its text with a 2D context.
  HTMLCanvasElement.prototype.getContext = () => ({ measureText: (text) => ({ width: String(text).length * 7 }) });
} else {
  require('./src/stream/node-env');
}
