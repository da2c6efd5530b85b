/** Small builders for the JSON schemas of config sections (core and features alike). */
export const int = (minimum: number, maximum = Number.MAX_SAFE_INTEGER) => ({ type: 'integer', minimum, maximum });
export const str = { type: 'string' };

/** An object that refuses unknown keys, so a misspelt option fails at startup. */
export const strict = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  properties,
  required,
});
