// The rg-core API client (same origin: Caddy sends /api/* to rg-core).  The session is the
// HttpOnly `rg_session` cookie that register/login set; nothing secret lives in JS.

export const API = "/api/v1";

export type ResumeData = Record<string, unknown>;
export type Warning = { pointer: string; message: string };
export type User = { id: number | string; email: string; name?: string; totp_enabled?: boolean; created_at?: string };
export type ResumeSummary = { id: string; title: string; version: number; created_at: string; updated_at: string; deleted_at?: string };
export type Resume = ResumeSummary & { data: ResumeData; warnings?: Warning[] };
export type VersionSummary = { version: number; title: string; created_at: string };
export type Share = { shared: true; slug: string; url: string; views: number; created_at: string };
export type ShareState = Share | { shared: false };
export type Theme = { name: string; description: string; columns?: number };
export type RenderState = "queued" | "running" | "done" | "failed";
export type Render = {
  run_id: string;
  state: RenderState;
  step?: string;
  attempt?: number;
  max_attempts?: number;
  resume_id?: string;
  version?: number;
  theme?: string;
  paper?: string;
  locale?: string;
  error?: { code?: string; message?: string } | string;
  pdf_url?: string;
  created_at?: string;
  updated_at?: string;
};

export class ApiError extends Error {
  status: number;
  code: string;
  field?: string;
  etag?: string;
  retryAfter?: number;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

type Opts = { method?: string; body?: unknown; raw?: BodyInit; headers?: Record<string, string>; signal?: AbortSignal };

export async function request<T>(path: string, opts: Opts = {}): Promise<{ data: T; etag: string | null; status: number }> {
  const headers: Record<string, string> = { Accept: "application/json", ...(opts.headers || {}) };
  let body: BodyInit | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["Content-Type"] ??= "application/json";
  }
  let res: Response;
  try {
    res = await fetch(API + path, { method: opts.method || "GET", headers, body, credentials: "same-origin", signal: opts.signal, cache: "no-store" });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection and try again.");
  }
  const etag = res.headers.get("ETag");
  if (res.status === 204 || res.status === 304) return { data: undefined as T, etag, status: res.status };
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
    const err = new ApiError(res.status, e?.code || "http_" + res.status, e?.message || res.statusText || "Request failed", e?.field);
    err.etag = etag || undefined;
    const ra = res.headers.get("Retry-After");
    if (ra) err.retryAfter = Number(ra);
    throw err;
  }
  return { data: json as T, etag, status: res.status };
}

export function versionFromEtag(etag: string | null): number | null {
  if (!etag) return null;
  const m = /^"(\d+)"$/.exec(etag.trim());
  return m ? Number(m[1]) : null;
}

const enc = encodeURIComponent;

export const api = {
  register: (email: string, password: string, name?: string) =>
    request<{ user: User; token: string }>("/auth/register", { method: "POST", body: { email, password, ...(name ? { name } : {}) } }),
  login: (email: string, password: string, totp?: string) =>
    request<{ user: User; token: string }>("/auth/login", { method: "POST", body: { email, password, ...(totp ? { totp } : {}) } }),
  logout: () => request<void>("/auth/logout", { method: "POST" }),
  me: () => request<{ user: User }>("/auth/me"),
  /** Who is signed in: 200 with user null when nobody is (no failing request to find out). */
  session: () => request<{ user: User | null }>("/auth/session"),
  changePassword: (current_password: string, new_password: string) =>
    request<void>("/auth/password", { method: "POST", body: { current_password, new_password } }),
  totpSetup: () => request<{ secret: string; otpauth_url: string }>("/auth/totp/setup", { method: "POST", body: {} }),
  totpEnable: (code: string) => request<{ totp_enabled: boolean; recovery_codes: string[] }>("/auth/totp/enable", { method: "POST", body: { code } }),
  totpDisable: (password: string) => request<void>("/auth/totp/disable", { method: "POST", body: { password } }),

  listResumes: (opts: { deleted?: boolean; cursor?: string; limit?: number } = {}) => {
    const q = new URLSearchParams();
    q.set("limit", String(opts.limit ?? 50));
    if (opts.deleted) q.set("deleted", "1");
    if (opts.cursor) q.set("cursor", opts.cursor);
    return request<{ items: ResumeSummary[]; next_cursor: string | null }>("/resumes?" + q.toString());
  },
  createResume: (title: string, data: ResumeData) => request<Resume>("/resumes", { method: "POST", body: { title, data } }),
  importResume: (title: string, file: string) =>
    request<Resume>("/resumes/import?title=" + enc(title), { method: "POST", raw: file, headers: { "Content-Type": "application/json" } }),
  getResume: (id: string) => request<Resume>("/resumes/" + enc(id)),
  putResume: (id: string, version: number, title: string, data: ResumeData) =>
    request<Resume>("/resumes/" + enc(id), { method: "PUT", body: { title, data }, headers: { "If-Match": `"${version}"` } }),
  patchTitle: (id: string, version: number, title: string) =>
    request<Resume>("/resumes/" + enc(id), {
      method: "PATCH",
      body: { title },
      headers: { "If-Match": `"${version}"`, "Content-Type": "application/merge-patch+json" },
    }),
  deleteResume: (id: string, version: number) => request<void>("/resumes/" + enc(id), { method: "DELETE", headers: { "If-Match": `"${version}"` } }),
  restoreResume: (id: string) => request<Resume>("/resumes/" + enc(id) + "/restore", { method: "POST", body: {} }),
  exportUrl: (id: string) => API + "/resumes/" + enc(id) + "/export",
  versions: (id: string, cursor?: string) =>
    request<{ items: VersionSummary[]; next_cursor: string | null }>("/resumes/" + enc(id) + "/versions?limit=50" + (cursor ? "&cursor=" + enc(cursor) : "")),
  version: (id: string, v: number) => request<{ version: number; title: string; data: ResumeData; created_at: string }>("/resumes/" + enc(id) + "/versions/" + v),
  restoreVersion: (id: string, v: number, current: number) =>
    request<Resume>("/resumes/" + enc(id) + "/versions/" + v + "/restore", { method: "POST", body: {}, headers: { "If-Match": `"${current}"` } }),
  getShare: (id: string) => request<ShareState>("/resumes/" + enc(id) + "/share"),
  createShare: (id: string) => request<Share>("/resumes/" + enc(id) + "/share", { method: "POST", body: {} }),
  deleteShare: (id: string) => request<void>("/resumes/" + enc(id) + "/share", { method: "DELETE" }),
  publicResume: (slug: string) => request<{ title: string; data: ResumeData; updated_at: string }>("/public/" + enc(slug)),
  publicPdfUrl: (slug: string) => API + "/public/" + enc(slug) + "/pdf",
  themes: () => request<{ items: Theme[] }>("/themes"),
  render: (id: string, theme: string, paper: string, locale: string) =>
    request<{ run_id: string; state: RenderState }>("/resumes/" + enc(id) + "/renders", { method: "POST", body: { theme, paper, locale } }),
  getRender: (runId: string) => request<Render>("/renders/" + enc(runId)),
  listRenders: (id: string, limit = 1) => request<{ items: Render[]; next_cursor: string | null }>("/resumes/" + enc(id) + "/renders?limit=" + limit),
  renderPdfUrl: (runId: string) => API + "/renders/" + enc(runId) + "/pdf",
};
