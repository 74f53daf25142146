// Form logic shared by the pages: client-side checks that mirror what rg-core and the
// renderer accept, so the message appears next to the field before a round trip.

export const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const DATE_RE = /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;

export function validateSignup(v: { email: string; password: string }): Record<string, string> {
  const e: Record<string, string> = {};
  if (!v.email.trim()) e.email = "Enter your e-mail address.";
  else if (!EMAIL_RE.test(v.email.trim())) e.email = "This does not look like an e-mail address.";
  const bytes = new TextEncoder().encode(v.password).length;
  if (bytes < 8) e.password = "Use at least 8 characters.";
  else if (bytes > 1024) e.password = "Use at most 1024 bytes.";
  return e;
}

export type FieldKind = "text" | "textarea" | "email" | "url" | "date" | "phone" | "country" | "lines" | "keywords";

/** The message for one value of a field of this kind, or null when it is fine. */
export function checkValue(kind: FieldKind, value: unknown): string | null {
  if (value === undefined || value === null || value === "") return null;
  if (kind === "lines" || kind === "keywords") {
    if (!Array.isArray(value)) return "Expected a list.";
    return null;
  }
  if (typeof value !== "string") return "Expected text.";
  const s = value.trim();
  switch (kind) {
    case "email":
      return EMAIL_RE.test(s) ? null : "Enter an e-mail address like name@example.com.";
    case "url":
      if (/\s/.test(s)) return "A web address cannot contain spaces.";
      if (/^[a-z][a-z0-9+.-]*:/i.test(s) && !/^(https?|mailto):/i.test(s)) return "Use an http:// or https:// address.";
      if (!/^(https?:\/\/)?[^/\s.]+\.[^/\s]+/i.test(s) && !/^mailto:/i.test(s)) return "Enter a web address like https://example.com.";
      return null;
    case "date":
      if (/^present$/i.test(s)) return null;
      return DATE_RE.test(s) ? null : "Use YYYY, YYYY-MM or YYYY-MM-DD (e.g. 2021-06).";
    case "country":
      return /^[A-Za-z]{2}$/.test(s) ? null : "Use the two-letter country code (e.g. DE, US, CN).";
    case "phone":
      return /^[+()\d\s./-]{3,}$/.test(s) ? null : "Use digits, spaces and + ( ) - only.";
    default:
      return null;
  }
}

/** Text area with one item per line <-> list of strings (empty lines dropped). */
export function linesToList(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
}
export function listToLines(v: unknown): string {
  return Array.isArray(v) ? v.filter((x) => typeof x === "string").join("\n") : "";
}
/** "C, Rust ,  Go" <-> ["C","Rust","Go"]; also splits on the Chinese and Arabic commas. */
export function keywordsToList(text: string): string[] {
  return text.split(/[,،，、]/).map((l) => l.trim()).filter((l) => l.length > 0);
}
export function listToKeywords(v: unknown): string {
  return Array.isArray(v) ? v.filter((x) => typeof x === "string").join(", ") : "";
}
