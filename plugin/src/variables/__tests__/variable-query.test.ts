import { parseVariableQuery } from '../variable-query';

describe('variable queries', () => {
  test('channels, with and without a pattern; empty means all channels', () => {
    expect(parseVariableQuery('channels()')).toEqual({ kind: 'channels' });
    expect(parseVariableQuery('')).toEqual({ kind: 'channels' });
    expect(parseVariableQuery(' channels( evm/** ) ')).toEqual({ kind: 'channels', pattern: 'evm/**' });
  });

  test('fields and distinct values of a field, with an optional scan limit', () => {
    expect(parseVariableQuery('fields(app/scans)')).toEqual({ kind: 'fields', channel: 'app/scans' });
    expect(parseVariableQuery("values(app/scans, 'country')")).toEqual({
      kind: 'values',
      channel: 'app/scans',
      field: 'country',
      limit: 1000,
    });
    expect(parseVariableQuery('values(evm/local/logs, contract, 5000)')).toEqual({
      kind: 'values',
      channel: 'evm/local/logs',
      field: 'contract',
      limit: 5000,
    });
  });

  test('malformed queries fail with a code and the accepted forms', () => {
    expect(() => parseVariableQuery('select *')).toThrow(
      'variable query "select *": expected channels(), channels(pattern), fields(channel) or values(channel, field)'
    );
    expect(() => parseVariableQuery('values(app/scans)')).toThrow('values(channel, field) needs a channel and a field');
    expect(() => parseVariableQuery('values(a, b, -1)')).toThrow('values(): limit must be an integer >= 1, got -1');
  });
});
