/**
 * Jest's node environment for the browser host test. The browser is Chromium, driven over CDP; the
 * test process itself needs Node (child processes, sockets). The scaffold's jest setup
 * (.config/jest-setup.js, not edited) patches `HTMLCanvasElement.prototype`, which only exists
 * under jsdom: an empty stand-in keeps that line harmless here.
 */
const { TestEnvironment } = require('jest-environment-node');

class BrowserHostEnvironment extends TestEnvironment {
  async setup() {
    await super.setup();
    if (this.global.HTMLCanvasElement === undefined) {
      this.global.HTMLCanvasElement = class HTMLCanvasElement {};
    }
  }
}

module.exports = BrowserHostEnvironment;
