/** The scanner behind the "every metric name exists" check: it must find names and only names. */
import { metricFamily, promqlMetricNames } from '../../../dashboards/src/promql-names';

describe('promqlMetricNames', () => {
  test('finds the metric inside functions, aggregations, label matchers and ranges', () => {
    expect(
      promqlMetricNames('histogram_quantile(0.95, sum by (le) (rate(streamgauge_publish_to_send_seconds_bucket{job="a"}[5m])))'),
    ).toEqual(['streamgauge_publish_to_send_seconds_bucket']);
  });

  test('finds every operand of binary operators and set operators, not the grouping labels', () => {
    expect(
      promqlMetricNames(
        'max by (chain) (a_depth) - on (chain) max by (chain) (b_depth) and on (chain) max by (chain) (increase(c_total[15m])) > 0',
      ),
    ).toEqual(['a_depth', 'b_depth', 'c_total']);
  });

  test('ignores label values, keywords, numbers and durations', () => {
    expect(promqlMetricNames('count(x_bytes{stream="sum"} > 0) + 1e3 offset 5m')).toEqual(['x_bytes']);
    expect(promqlMetricNames('up{job="streamgauge-collector"} == bool 0')).toEqual(['up']);
  });
});

describe('metricFamily', () => {
  test('maps histogram series to their family and unknown names to undefined', () => {
    const families = new Set(['h_seconds', 'g']);
    expect(metricFamily('h_seconds_bucket', families)).toBe('h_seconds');
    expect(metricFamily('g', families)).toBe('g');
    expect(metricFamily('missing_total', families)).toBeUndefined();
  });
});
