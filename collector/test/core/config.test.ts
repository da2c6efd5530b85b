import { ConfigError } from '../../src/errors';
import { resolveConfig } from '../../src/collector-config';
import { DEFAULTS } from '../../src/config/defaults';

describe('configuration', () => {
  test('behavior: defaults apply when nothing is given, and the result is frozen', () => {
    const c = resolveConfig({}, {});
    expect(c.server.port).toBe(DEFAULTS.server.port);
    expect(c.ws.maxPayloadBytes).toBe(65536);
    expect(c.ws.heartbeatIntervalMs).toBe(25_000);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.ws)).toBe(true);
    expect(() => {
      (c.ws as { maxPayloadBytes: number }).maxPayloadBytes = 1;
    }).toThrow(TypeError);
  });

  test('behavior: environment variables override the file', () => {
    const c = resolveConfig({ server: { port: 9000 } }, { SG_PORT: '9100', SG_ALLOWED_ORIGINS: 'http://a.example, http://b.example' });
    expect(c.server.port).toBe(9100);
    expect(c.ws.allowedOrigins).toEqual(['http://a.example', 'http://b.example']);
  });

  test('behavior: every problem is reported with its path', () => {
    let err: ConfigError | undefined;
    try {
      resolveConfig({ server: { port: 'x', hots: 'a' }, store: { type: 'mongo' } }, {});
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.code).toBe('SG_CONFIG_INVALID');
    expect(err!.problems).toEqual(
      expect.arrayContaining([
        'server.port must be integer',
        'server: unknown option "hots"',
        'store.type: must be one of "sqlite", "redis"',
      ]),
    );
  });

  test('behavior: a bad environment value names the variable', () => {
    expect(() => resolveConfig({}, { SG_PORT: 'eighty' })).toThrow('SG_PORT="eighty": must be an integer');
  });

  test('behavior: contradictory options fail with what to change', () => {
    expect(() => resolveConfig({ ws: { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 2000 } }, {})).toThrow(
      'ws.heartbeatTimeoutMs (2000) must be smaller than ws.heartbeatIntervalMs (1000)',
    );
    expect(() => resolveConfig({ channels: { definitions: [{ name: 'Bad Name' }] } }, {})).toThrow('not a valid channel name');
    expect(() => resolveConfig({ channels: { definitions: [{ name: 'app/state', kind: 'state' }] } }, {})).toThrow(
      'kind state needs keyField',
    );
  });
});
