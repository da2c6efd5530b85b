// Loaded by every jest project (setupFilesAfterEnv), so each test gets the same bound whether it
// runs under `npm test` or alone with `npx jest -c <project>/jest.config.js` (jest.shared.js).
jest.setTimeout(require('./jest.shared').testTimeout);
