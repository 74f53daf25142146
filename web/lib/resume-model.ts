// The JSON Resume (v1.0.0) sections as forms, and pure operations on a resume document.
// Every operation returns a new document (the store keeps them immutable) and never drops
// keys it does not know: unknown keys survive every edit.
import type { FieldKind } from "./forms";

export type ResumeDoc = Record<string, unknown>;
export type FieldDef = { key: string; label: string; kind: FieldKind; placeholder?: string; wide?: boolean };
export type SectionDef = { key: string; label: string; entry: string; fields: FieldDef[]; title: (e: Record<string, unknown>) => string };

export const BASICS_FIELDS: FieldDef[] = [
  { key: "name", label: "Full name", kind: "text" },
  { key: "label", label: "Headline", kind: "text", placeholder: "e.g. Software Engineer" },
  { key: "email", label: "E-mail", kind: "email" },
  { key: "phone", label: "Phone", kind: "phone" },
  { key: "url", label: "Website", kind: "url", placeholder: "https://" },
  { key: "image", label: "Photo URL", kind: "url" },
  { key: "summary", label: "Summary", kind: "textarea", wide: true },
];
export const LOCATION_FIELDS: FieldDef[] = [
  { key: "address", label: "Address", kind: "text", wide: true },
  { key: "postalCode", label: "Postal code", kind: "text" },
  { key: "city", label: "City", kind: "text" },
  { key: "region", label: "Region", kind: "text" },
  { key: "countryCode", label: "Country code", kind: "country", placeholder: "US" },
];
export const PROFILE_FIELDS: FieldDef[] = [
  { key: "network", label: "Network", kind: "text", placeholder: "GitHub" },
  { key: "username", label: "Username", kind: "text" },
  { key: "url", label: "Profile URL", kind: "url", wide: true },
];

const str = (v: unknown) => (typeof v === "string" ? v : "");
const join = (...p: unknown[]) => p.map(str).filter(Boolean).join(" · ");

const dates: FieldDef[] = [
  { key: "startDate", label: "Start date", kind: "date", placeholder: "2021-06" },
  { key: "endDate", label: "End date", kind: "date", placeholder: "empty = present" },
];

export const SECTIONS: SectionDef[] = [
  {
    key: "work", label: "Work experience", entry: "position",
    title: (e) => join(e.position, e.name) || "New position",
    fields: [
      { key: "position", label: "Position", kind: "text" },
      { key: "name", label: "Company", kind: "text" },
      { key: "location", label: "Location", kind: "text" },
      { key: "url", label: "Company website", kind: "url" },
      ...dates,
      { key: "summary", label: "Summary", kind: "textarea", wide: true },
      { key: "highlights", label: "Highlights (one per line)", kind: "lines", wide: true },
    ],
  },
  {
    key: "volunteer", label: "Volunteering", entry: "role",
    title: (e) => join(e.position, e.organization) || "New role",
    fields: [
      { key: "position", label: "Role", kind: "text" },
      { key: "organization", label: "Organization", kind: "text" },
      { key: "url", label: "Website", kind: "url", wide: true },
      ...dates,
      { key: "summary", label: "Summary", kind: "textarea", wide: true },
      { key: "highlights", label: "Highlights (one per line)", kind: "lines", wide: true },
    ],
  },
  {
    key: "education", label: "Education", entry: "school",
    title: (e) => join(e.studyType, e.area, e.institution) || "New school",
    fields: [
      { key: "institution", label: "Institution", kind: "text" },
      { key: "url", label: "Website", kind: "url" },
      { key: "area", label: "Field of study", kind: "text" },
      { key: "studyType", label: "Degree", kind: "text" },
      ...dates,
      { key: "score", label: "Score", kind: "text" },
      { key: "courses", label: "Courses (one per line)", kind: "lines", wide: true },
    ],
  },
  {
    key: "projects", label: "Projects", entry: "project",
    title: (e) => str(e.name) || "New project",
    fields: [
      { key: "name", label: "Name", kind: "text" },
      { key: "url", label: "Website", kind: "url" },
      ...dates,
      { key: "entity", label: "Entity", kind: "text" },
      { key: "type", label: "Type", kind: "text" },
      { key: "description", label: "Description", kind: "textarea", wide: true },
      { key: "highlights", label: "Highlights (one per line)", kind: "lines", wide: true },
      { key: "roles", label: "Roles (one per line)", kind: "lines" },
      { key: "keywords", label: "Keywords (comma separated)", kind: "keywords" },
    ],
  },
  {
    key: "awards", label: "Awards", entry: "award",
    title: (e) => join(e.title, e.awarder) || "New award",
    fields: [
      { key: "title", label: "Title", kind: "text" },
      { key: "awarder", label: "Awarded by", kind: "text" },
      { key: "date", label: "Date", kind: "date", placeholder: "2020-05" },
      { key: "summary", label: "Summary", kind: "textarea", wide: true },
    ],
  },
  {
    key: "certificates", label: "Certificates", entry: "certificate",
    title: (e) => join(e.name, e.issuer) || "New certificate",
    fields: [
      { key: "name", label: "Name", kind: "text" },
      { key: "issuer", label: "Issuer", kind: "text" },
      { key: "date", label: "Date", kind: "date" },
      { key: "url", label: "URL", kind: "url" },
    ],
  },
  {
    key: "publications", label: "Publications", entry: "publication",
    title: (e) => join(e.name, e.publisher) || "New publication",
    fields: [
      { key: "name", label: "Title", kind: "text" },
      { key: "publisher", label: "Publisher", kind: "text" },
      { key: "releaseDate", label: "Release date", kind: "date" },
      { key: "url", label: "URL", kind: "url" },
      { key: "summary", label: "Summary", kind: "textarea", wide: true },
    ],
  },
  {
    key: "skills", label: "Skills", entry: "skill",
    title: (e) => str(e.name) || "New skill",
    fields: [
      { key: "name", label: "Skill", kind: "text" },
      { key: "level", label: "Level", kind: "text", placeholder: "e.g. Expert" },
      { key: "keywords", label: "Keywords (comma separated)", kind: "keywords", wide: true },
    ],
  },
  {
    key: "languages", label: "Languages", entry: "language",
    title: (e) => join(e.language, e.fluency) || "New language",
    fields: [
      { key: "language", label: "Language", kind: "text" },
      { key: "fluency", label: "Fluency", kind: "text", placeholder: "e.g. Native" },
    ],
  },
  {
    key: "interests", label: "Interests", entry: "interest",
    title: (e) => str(e.name) || "New interest",
    fields: [
      { key: "name", label: "Interest", kind: "text" },
      { key: "keywords", label: "Keywords (comma separated)", kind: "keywords" },
    ],
  },
  {
    key: "references", label: "References", entry: "reference",
    title: (e) => str(e.name) || "New reference",
    fields: [
      { key: "name", label: "Name", kind: "text" },
      { key: "reference", label: "Reference", kind: "textarea", wide: true },
    ],
  },
];

export const SECTION_KEYS = SECTIONS.map((s) => s.key);
export const sectionDef = (key: string) => SECTIONS.find((s) => s.key === key);

export type Path = (string | number)[];

export function getAt(doc: unknown, path: Path): unknown {
  let cur: unknown = doc;
  for (const k of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[k as never];
  }
  return cur;
}

const isEmpty = (v: unknown) =>
  v === undefined || v === "" || (Array.isArray(v) && v.length === 0) || (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0);

/**
 * Sets path to value, creating objects on the way.  An empty value ("" or [] or {}) removes
 * the key, and an object left empty by that is removed as well (but never an array entry,
 * which keeps its place).
 */
export function setAt(doc: ResumeDoc, path: Path, value: unknown): ResumeDoc {
  if (path.length === 0) return (value as ResumeDoc) ?? {};
  const [k, ...rest] = path;
  const copy: Record<string | number, unknown> | unknown[] = Array.isArray(doc) ? [...doc] : { ...doc };
  const child = (doc as Record<string | number, unknown>)[k as never];
  const next = rest.length === 0 ? value : setAt((child && typeof child === "object" ? child : typeof rest[0] === "number" ? [] : {}) as ResumeDoc, rest, value);
  if (Array.isArray(copy)) {
    copy[k as number] = next ?? {};
  } else if (isEmpty(next)) {
    delete copy[k as string];
  } else {
    copy[k as string] = next;
  }
  return copy as ResumeDoc;
}

export function entries(doc: ResumeDoc, section: string): Record<string, unknown>[] {
  const v = doc[section];
  return Array.isArray(v) ? (v as Record<string, unknown>[]) : [];
}

export function addEntry(doc: ResumeDoc, section: string, entry: Record<string, unknown> = {}): ResumeDoc {
  return { ...doc, [section]: [...entries(doc, section), entry] };
}

export function removeEntry(doc: ResumeDoc, section: string, index: number): ResumeDoc {
  const list = entries(doc, section).filter((_, i) => i !== index);
  const copy = { ...doc };
  if (list.length) copy[section] = list;
  else delete copy[section];
  return copy;
}

export function move<T>(list: T[], from: number, to: number): T[] {
  if (from === to || from < 0 || to < 0 || from >= list.length || to >= list.length) return list;
  const copy = [...list];
  const [x] = copy.splice(from, 1);
  copy.splice(to, 0, x);
  return copy;
}

export function moveEntry(doc: ResumeDoc, section: string, from: number, to: number): ResumeDoc {
  const list = entries(doc, section);
  const moved = move(list, from, to);
  return moved === list ? doc : { ...doc, [section]: moved };
}

/**
 * The order of the sections in the editor and in the PDF: `meta.sectionOrder` (read by the
 * renderer, docs/themes.md) when set, the known sections it omits after it in their default
 * order.  Unknown names in it are ignored here and kept in the document.
 */
export function sectionOrder(doc: ResumeDoc): string[] {
  const meta = doc.meta as Record<string, unknown> | undefined;
  const given = Array.isArray(meta?.sectionOrder) ? (meta!.sectionOrder as unknown[]).filter((x): x is string => typeof x === "string") : [];
  const out: string[] = [];
  for (const k of given) if (SECTION_KEYS.includes(k) && !out.includes(k)) out.push(k);
  for (const k of SECTION_KEYS) if (!out.includes(k)) out.push(k);
  return out;
}

export function setSectionOrder(doc: ResumeDoc, order: string[]): ResumeDoc {
  return setAt(doc, ["meta", "sectionOrder"], [...order]);
}

export function moveSection(doc: ResumeDoc, from: number, to: number): ResumeDoc {
  const order = sectionOrder(doc);
  const moved = move(order, from, to);
  return moved === order ? doc : setSectionOrder(doc, moved);
}

/** "/data/work/0/startDate" (an API field pointer) -> "work.0.startDate" (a form key). */
export function pointerToKey(pointer: string): string {
  const p = pointer.replace(/^\/data(?=\/|$)/, "");
  return p
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".");
}
export const pathKey = (path: Path) => path.join(".");

/** A new resume's document: the basics a person fills first. */
export function starterResume(name: string, email: string): ResumeDoc {
  const basics: Record<string, unknown> = {};
  if (name) basics.name = name;
  if (email) basics.email = email;
  return { basics };
}

/**
 * The title of an imported resume: the person's name (with the headline when there is
 * one) from basics, else the file name without ".json", else "Imported resume".  Reads
 * legacy documents too (a top-level `name`).
 */
export function importTitle(text: string, fileName: string): string {
  let doc: unknown = null;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = null;
  }
  const basics = doc && typeof doc === "object" ? ((doc as Record<string, unknown>).basics as Record<string, unknown> | undefined) : undefined;
  const clean = (v: unknown) => (typeof v === "string" ? v.replace(/\s+/gu, " ").trim() : "");
  const name = clean(basics?.name) || clean((doc as Record<string, unknown> | null)?.name);
  const label = clean(basics?.label);
  const fromDoc = name && label ? `${name} — ${label}` : name || label;
  const title = fromDoc || fileName.replace(/\.json$/i, "").trim() || "Imported resume";
  return title.length > 200 ? title.slice(0, 199) + "…" : title;
}

/** One line per part of a resume, to tell versions apart before restoring one. */
export function resumeSummary(doc: ResumeDoc): { label: string; value: string }[] {
  const out: { label: string; value: string }[] = [];
  const basics = (doc.basics ?? {}) as Record<string, unknown>;
  for (const d of BASICS_FIELDS) {
    const v = basics[d.key];
    if (typeof v === "string" && v) out.push({ label: d.label, value: v.length > 80 ? v.slice(0, 79) + "…" : v });
  }
  for (const key of sectionOrder(doc)) {
    const list = entries(doc, key);
    if (!list.length) continue;
    const def = sectionDef(key)!;
    const titles = list.map((e) => def.title(e && typeof e === "object" ? e : {}));
    out.push({ label: def.label, value: `${list.length}: ${titles.join("; ")}` });
  }
  return out;
}

/**
 * The fields that differ between two versions, as readable names ("Headline",
 * "Work experience 1 · Company"); at most `max`, then "… and N more".
 */
export function changedFields(a: ResumeDoc, b: ResumeDoc, max = 8): string[] {
  const names: string[] = [];
  const fieldLabel = (defs: FieldDef[], k: string) => defs.find((d) => d.key === k)?.label ?? k;
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  const ba = (a.basics ?? {}) as Record<string, unknown>;
  const bb = (b.basics ?? {}) as Record<string, unknown>;
  for (const k of new Set([...Object.keys(ba), ...Object.keys(bb)])) {
    if (same(ba[k], bb[k])) continue;
    if (k === "location") {
      const la = (ba[k] ?? {}) as Record<string, unknown>, lb = (bb[k] ?? {}) as Record<string, unknown>;
      for (const f of new Set([...Object.keys(la), ...Object.keys(lb)])) if (!same(la[f], lb[f])) names.push("Location · " + fieldLabel(LOCATION_FIELDS, f));
    } else if (k === "profiles") names.push("Profiles");
    else names.push(fieldLabel(BASICS_FIELDS, k));
  }
  if (!same(sectionOrder(a), sectionOrder(b))) names.push("Section order");
  for (const s of SECTIONS) {
    const ea = entries(a, s.key), eb = entries(b, s.key);
    if (same(ea, eb)) continue;
    if (ea.length !== eb.length) {
      names.push(`${s.label} (${ea.length} → ${eb.length} entries)`);
      continue;
    }
    ea.forEach((e, i) => {
      const f = eb[i] ?? {};
      for (const k of new Set([...Object.keys(e ?? {}), ...Object.keys(f)])) if (!same(e?.[k], f[k])) names.push(`${s.label} ${i + 1} · ${fieldLabel(s.fields, k)}`);
    });
  }
  const known = new Set(["basics", "meta", ...SECTION_KEYS]);
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (!known.has(k) && !same(a[k], b[k])) names.push(k);
  return names.length > max ? [...names.slice(0, max), `… and ${names.length - max} more`] : names;
}

/** The language a resume is written in, as the renderer guesses it when none is picked
 * (src/render/render.c, guess_locale): `meta.locale`/`language`/`lang`/`x-lang` when it is
 * one of `known`, else by the letters of the name, headline and summary (any kana → ja,
 * any Hangul → ko, more Han than Latin → zh, likewise Arabic → ar, Hebrew → he, Cyrillic →
 * ru), else "en".  The editor starts a resume that has no picks yet in that language, so
 * an Arabic resume gets Arabic headings in the preview and the PDF from the start. */
export function guessLocale(doc: ResumeDoc, known: readonly string[]): string {
  const meta = (doc.meta ?? {}) as Record<string, unknown>;
  for (const k of ["locale", "language", "lang", "x-lang"]) {
    const v = meta[k];
    if (typeof v === "string" && v) {
      const tag = v.toLowerCase();
      if (known.includes(tag)) return tag;
      const primary = tag.split(/[-_]/)[0];
      if (known.includes(primary)) return primary;
    }
  }
  const basics = (doc.basics ?? {}) as Record<string, unknown>;
  const text = ["name", "label", "summary"].map((k) => (typeof basics[k] === "string" ? (basics[k] as string) : "")).join(" ");
  const count = (re: RegExp) => (text.match(re) ?? []).length;
  const latin = count(/\p{Script=Latin}/gu);
  let tag = "en";
  if (count(/[\p{Script=Hiragana}\p{Script=Katakana}]/gu)) tag = "ja";
  else if (count(/\p{Script=Hangul}/gu)) tag = "ko";
  else if (count(/\p{Script=Han}/gu) > latin) tag = "zh";
  else if (count(/\p{Script=Arabic}/gu) > latin) tag = "ar";
  else if (count(/\p{Script=Hebrew}/gu) > latin) tag = "he";
  else if (count(/\p{Script=Cyrillic}/gu) > latin) tag = "ru";
  return known.includes(tag) ? tag : "en";
}
