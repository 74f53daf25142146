import { clsx, type ClassValue } from "clsx";
import { twMerge } from "tailwind-merge";

export function cn(...inputs: ClassValue[]) {
  return twMerge(clsx(inputs));
}

export function formatDate(iso: string | undefined | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Date and time to the second, for lists where many entries fall in one minute. */
export function formatDateTime(iso: string | undefined | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** "just now", "45 seconds ago", "3 minutes ago", "2 hours ago", "5 days ago", or "" for a bad date. */
export function relativeTime(iso: string | undefined | null, now = Date.now()): string {
  if (!iso) return "";
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return "";
  const s = Math.round((now - t) / 1000);
  if (s < 5) return "just now";
  const fmt = new Intl.RelativeTimeFormat("en", { numeric: "always" });
  if (s < 60) return fmt.format(-s, "second");
  if (s < 3600) return fmt.format(-Math.floor(s / 60), "minute");
  if (s < 86400) return fmt.format(-Math.floor(s / 3600), "hour");
  return fmt.format(-Math.floor(s / 86400), "day");
}

/**
 * The name of a downloaded PDF from the resume's title: characters that file systems or
 * browsers refuse ("/", ":", quotes, control characters …) become a space, runs of white
 * space become one, at most 120 characters; "resume" when nothing is left.
 */
export function pdfFileName(title: string): string {
  const name = (title || "")
    .replace(/[^\p{L}\p{M}\p{N} ._-]+/gu, " ")
    .replace(/\s+/gu, " ")
    .trim()
    .replace(/^\.+/, "")
    .slice(0, 120)
    .trim();
  return (name || "resume") + ".pdf";
}
