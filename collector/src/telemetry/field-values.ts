/** Small pure helpers shared by metric rules and entity aggregates. */

/** A number from a data field: finite numbers only (strings are not coerced: schemas keep types). */
export function numberField(data: Record<string, unknown>, field: string): number | undefined {
  const v = data[field];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** ms since epoch from a time field (ms number or ISO 8601 string), or undefined. */
export function timeField(data: Record<string, unknown>, field: string): number | undefined {
  const v = data[field];
  if (typeof v === 'number' && Number.isFinite(v)) {
    return v;
  }
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/** Does data match every filter entry (equal to the value, or to one of a list)? */
export function matchesFilter(
  data: Record<string, unknown>,
  filter: Readonly<Record<string, string | number | boolean | readonly (string | number | boolean)[]>> | undefined,
): boolean {
  if (!filter) {
    return true;
  }
  for (const [field, want] of Object.entries(filter)) {
    const v = data[field];
    if (Array.isArray(want) ? !want.includes(v as never) : v !== want) {
      return false;
    }
  }
  return true;
}

/** The text of a field for a label or group value: missing or null gives `none`. */
export function textField(data: Record<string, unknown>, field: string): string {
  const v = data[field];
  if (v === undefined || v === null || v === '') {
    return 'none';
  }
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
