/**
 * Spec problems as people read them: one line that names the field, says what is expected and shows the
 * value received. zod's own messages ("Invalid input: ...") are rephrased here.
 */
import { z } from 'zod';

/** Thrown for any spec problem; the message is one line that names the field and the value. */
export class SpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecError';
  }
}

/** A value as it appears in a message: JSON, shortened to 60 characters. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function unwrap(t: z.ZodType): z.ZodType {
  let cur = t;
  while (cur instanceof z.ZodDefault || cur instanceof z.ZodOptional || cur instanceof z.ZodPrefault) {
    cur = (cur as z.ZodDefault<z.ZodType>).unwrap();
  }
  return cur;
}

/** The keys an object of the schema allows at this path, for "unknown key" messages. */
function allowedKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let cur: z.ZodType = schema;
  for (const key of path) {
    cur = unwrap(cur);
    if (!(cur instanceof z.ZodObject)) return [];
    cur = (cur.shape as Record<string, z.ZodType>)[String(key)];
    if (!cur) return [];
  }
  cur = unwrap(cur);
  return cur instanceof z.ZodObject ? Object.keys(cur.shape) : [];
}

/** One line for one zod issue found while parsing `input` with `schema`. */
export function formatIssue(issue: z.core.$ZodIssue, input: unknown, schema: z.ZodType): string {
  const field = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    const full = field ? `${field}.${key}` : key;
    const allowed = allowedKeysAt(schema, issue.path);
    return `${full}: unknown key${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`;
  }
  if (issue.code === 'invalid_key') {
    // A record key that fails its own schema: say which key, with that schema's message.
    const key = String(issue.path[issue.path.length - 1]);
    return `${field}: ${issue.issues[0]?.message ?? 'is not an allowed key'} (got key ${JSON.stringify(key)})`;
  }
  const value = valueAt(input, issue.path);
  if (value === undefined && issue.code === 'invalid_type') return `${field}: is required`;
  let message = issue.message;
  if (/^Invalid input/.test(message)) {
    message =
      issue.code === 'invalid_type'
        ? `must be ${issue.expected === 'array' ? 'a list' : issue.expected === 'object' || issue.expected === 'record' ? 'a mapping' : `a ${issue.expected}`}`
        : 'is not valid';
  }
  return `${field || 'spec'}: ${message} (got ${describeValue(value)})`;
}
