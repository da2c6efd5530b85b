/** The SDK's public surface: additions are deliberate, removals are breaking. */
import * as sdk from '../../../sdk/src';
import { backoffDelay } from '../../../sdk/src';

describe('SDK surface', () => {
  test('behaviour: the public exports are exactly these', () => {
    expect(Object.keys(sdk).sort()).toEqual([
      'PUBLISHER_DEFAULTS',
      'SdkErrorCode',
      'StreamgaugeError',
      'backoffDelay',
      'createPublisher',
      'createSubscriber',
    ]);
  });

  test('behaviour: backoff is full jitter capped at maxMs', () => {
    expect(backoffDelay(0, 100, 1000, () => 0.999)).toBe(99);
    expect(backoffDelay(3, 100, 1000, () => 0.999)).toBe(799);
    expect(backoffDelay(20, 100, 1000, () => 0.999)).toBe(999);
    expect(backoffDelay(20, 100, 1000, () => 0)).toBe(0);
  });

  test('errors: options that contradict each other are refused at creation', () => {
    expect(() => sdk.createPublisher({ url: 'ftp://x' })).toThrow('url must start with http:// or https://, got "ftp://x"');
    expect(() => sdk.createPublisher({ url: 'http://x', maxBatch: 10, maxQueue: 5 })).toThrow(
      'maxBatch (10) must be >= 1 and <= maxQueue (5)',
    );
  });
});
