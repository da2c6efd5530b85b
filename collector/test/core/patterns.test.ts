import { channelNamespace, isChannelName, isChannelPattern, matchChannel } from '@streamgauge/protocol';

describe('channel names and patterns', () => {
  test.each([
    ['app/scans', true],
    ['evm/local/blocks', true],
    ['a', true],
    ['App/scans', false],
    ['app//scans', false],
    ['/app', false],
    ['app/', false],
    ['app/sc ans', false],
    ['a:b', false],
  ])('isChannelName(%p) is %p', (name, ok) => {
    expect(isChannelName(name)).toBe(ok);
  });

  test.each([
    ['app/*', 'app/scans', true],
    ['app/*', 'app/scans/x', false],
    ['evm/**', 'evm/local/blocks', true],
    ['evm/**', 'evm', false],
    ['*/blocks', 'chain/blocks', true],
    ['evm/*/blocks', 'evm/local/blocks', true],
    ['evm/*/blocks', 'evm/local/events', false],
  ])('matchChannel(%p, %p) is %p', (pattern, name, ok) => {
    expect(matchChannel(pattern, name)).toBe(ok);
  });

  test('behavior: ** is only valid as the last segment', () => {
    expect(isChannelPattern('evm/**')).toBe(true);
    expect(isChannelPattern('**/blocks')).toBe(false);
  });

  test('behavior: the namespace is the first segment', () => {
    expect(channelNamespace('evm/local/blocks')).toBe('evm');
    expect(channelNamespace('solo')).toBe('solo');
  });
});
