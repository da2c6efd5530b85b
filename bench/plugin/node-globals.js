'use strict';
/**
 * Browser globals for @grafana/data under plain Node (it touches window, document and localStorage
 * at import time through its dependencies), from jsdom as the plugin's jest setup does, so that
 * the plugin's pure frame builder can be measured outside a browser.
 */
const { JSDOM } = require('jsdom');

const dom = new JSDOM('<!doctype html><html><head></head><body></body></html>', { url: 'http://localhost/' });
for (const k of ['window', 'document', 'navigator', 'localStorage', 'HTMLElement', 'Node', 'getComputedStyle', 'matchMedia']) {
  if (!(k in globalThis) || k === 'navigator') {
    try {
      Object.defineProperty(globalThis, k, { value: k === 'window' ? dom.window : dom.window[k], configurable: true, writable: true });
    } catch {
      // some globals are read-only in Node 20 (navigator); the frame builder does not need them
    }
  }
}
globalThis.matchMedia ??= () => ({ matches: false, addListener() {}, removeListener() {}, addEventListener() {}, removeEventListener() {} });
