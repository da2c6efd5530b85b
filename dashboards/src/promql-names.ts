/**
 * Metric names used by a PromQL expression, for the CI check that every dashboard and alert rule
 * queries metrics a real collector exposes. A small scanner, not a parser: it drops strings,
 * label matchers, ranges and grouping clauses, then keeps identifiers that are not functions,
 * keywords or aggregation operators. Good enough for the expressions in this repository; the
 * test of this file pins what it returns for each shape we use.
 */

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'group',
  'inf',
  'nan',
]);

export function promqlMetricNames(expr: string): string[] {
  const cleaned = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of cleaned.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    const after = cleaned.slice(m.index! + word.length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(word.toLowerCase())) {
      continue;
    }
    // Duration or exponent suffixes of numbers (5m, 1e3) are not names.
    const before = cleaned[m.index! - 1];
    if (before !== undefined && /[0-9.]/.test(before)) {
      continue;
    }
    names.add(word);
  }
  return [...names].sort();
}

/** `x_bucket`, `x_sum`, `x_count` belong to histogram/summary family `x`. */
export function metricFamily(name: string, families: ReadonlySet<string>): string | undefined {
  if (families.has(name)) {
    return name;
  }
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return families.has(base) ? base : undefined;
}
