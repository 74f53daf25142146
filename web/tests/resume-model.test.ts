import { describe, expect, it } from "vitest";
import { addEntry, changedFields, getAt, guessLocale, importTitle, moveEntry, moveSection, pointerToKey, removeEntry, resumeSummary, sectionOrder, setAt, SECTION_KEYS } from "@/lib/resume-model";

describe("resume model", () => {
  it("sets nested values without touching unknown keys", () => {
    const doc = { basics: { name: "A", custom: 1 }, x: { y: 2 } };
    const out = setAt(doc, ["basics", "location", "city"], "Cairo");
    expect(out).toEqual({ basics: { name: "A", custom: 1, location: { city: "Cairo" } }, x: { y: 2 } });
    expect(doc.basics).toEqual({ name: "A", custom: 1 }); // immutable
  });
  it("removes a key set to empty and an object left empty", () => {
    const doc = { basics: { location: { city: "Cairo" } } };
    expect(setAt(doc, ["basics", "location", "city"], "")).toEqual({});
  });
  it("keeps array entries in place when emptied", () => {
    const doc = { work: [{ name: "A" }, { name: "B" }] };
    expect(setAt(doc, ["work", 0, "name"], "")).toEqual({ work: [{}, { name: "B" }] });
    expect(getAt(doc, ["work", 1, "name"])).toBe("B");
  });
  it("adds, removes and moves entries", () => {
    let d: Record<string, unknown> = {};
    d = addEntry(d, "work", { name: "A" });
    d = addEntry(d, "work", { name: "B" });
    d = addEntry(d, "work", { name: "C" });
    d = moveEntry(d, "work", 2, 0);
    expect((d.work as { name: string }[]).map((e) => e.name)).toEqual(["C", "A", "B"]);
    expect(moveEntry(d, "work", 0, 9)).toBe(d);
    d = removeEntry(d, "work", 1);
    expect((d.work as { name: string }[]).map((e) => e.name)).toEqual(["C", "B"]);
    d = removeEntry(removeEntry(d, "work", 0), "work", 0);
    expect(d).toEqual({});
  });
  it("orders sections from meta.sectionOrder, ignoring junk, completing the rest", () => {
    expect(sectionOrder({})).toEqual(SECTION_KEYS);
    const o = sectionOrder({ meta: { sectionOrder: ["skills", 3, "nope", "skills", "education"] } });
    expect(o.slice(0, 2)).toEqual(["skills", "education"]);
    expect(o).toHaveLength(SECTION_KEYS.length);
    const d = moveSection({ meta: { canonical: "x" } }, 2, 0);
    expect((d.meta as { sectionOrder: string[] }).sectionOrder[0]).toBe(SECTION_KEYS[2]);
    expect((d.meta as { canonical: string }).canonical).toBe("x");
  });
  it("maps API field pointers to form keys", () => {
    expect(pointerToKey("/data/work/0/startDate")).toBe("work.0.startDate");
    expect(pointerToKey("/data/basics/a~1b")).toBe("basics.a/b");
    expect(pointerToKey("/title")).toBe("title");
  });
});

describe("import titles, version summaries and differences", () => {
  it("names an import after the person, not the file", () => {
    expect(importTitle(JSON.stringify({ basics: { name: "Ann Lee", label: "Engineer" } }), "resume.json")).toBe("Ann Lee — Engineer");
    expect(importTitle(JSON.stringify({ basics: { name: " Legacy  Person " } }), "legacy.json")).toBe("Legacy Person");
    expect(importTitle(JSON.stringify({ basics: { label: "Data scientist" } }), "resume.json")).toBe("Data scientist");
    expect(importTitle(JSON.stringify({ name: "Old Format" }), "x.json")).toBe("Old Format");
    expect(importTitle(JSON.stringify({ work: [] }), "cv-2024.JSON")).toBe("cv-2024");
    expect(importTitle("not json", ".json")).toBe("Imported resume");
    expect(importTitle(JSON.stringify({ basics: { name: "n".repeat(250) } }), "a.json")).toHaveLength(200);
  });

  it("summarises a version by its parts, in section order", () => {
    const doc = { basics: { name: "Ann", label: "Dev" }, work: [{ position: "Engineer", name: "Acme" }], education: [{ institution: "جامعة القاهرة" }], meta: { sectionOrder: ["education", "work"] } };
    expect(resumeSummary(doc)).toEqual([
      { label: "Full name", value: "Ann" },
      { label: "Headline", value: "Dev" },
      { label: "Education", value: "1: جامعة القاهرة" },
      { label: "Work experience", value: "1: Engineer · Acme" },
    ]);
  });

  it("names the fields that changed between two versions", () => {
    const a = { basics: { name: "Ann", label: "Dev", location: { city: "Oslo" } }, work: [{ position: "Engineer", name: "Acme" }], x: 1 };
    const b = { basics: { name: "Ann", summary: "Hi", location: { city: "Bergen" } }, work: [{ position: "Lead", name: "Acme" }], skills: [{ name: "C" }], x: 2 };
    expect(changedFields(a, b)).toEqual(["Headline", "Location · City", "Summary", "Work experience 1 · Position", "Skills (0 → 1 entries)", "x"]);
    expect(changedFields(a, a)).toEqual([]);
    expect(changedFields(a, b, 2)).toEqual(["Headline", "Location · City", "… and 4 more"]);
  });
});

describe("guessLocale", () => {
  const known = ["en", "de", "ja", "ko", "zh", "ar", "he", "ru", "pt"];
  it("takes meta.locale or meta.language when it is known", () => {
    expect(guessLocale({ meta: { locale: "de" } }, known)).toBe("de");
    expect(guessLocale({ meta: { language: "pt-BR" } }, known)).toBe("pt");
    expect(guessLocale({ meta: { locale: "xx" }, basics: { name: "Иван" } }, known)).toBe("ru");
  });
  it("reads the script of the name, headline and summary as the renderer does", () => {
    expect(guessLocale({ basics: { name: "لينا حداد", label: "مهندسة" } }, known)).toBe("ar");
    expect(guessLocale({ basics: { name: "田中 はるか" } }, known)).toBe("ja");
    expect(guessLocale({ basics: { name: "王小明", summary: "Engineer" } }, known)).toBe("en"); // more Latin than Han
    expect(guessLocale({ basics: { name: "王小明", label: "工程师" } }, known)).toBe("zh");
    expect(guessLocale({ basics: { name: "Alex Example" } }, known)).toBe("en");
    expect(guessLocale({}, known)).toBe("en");
  });
});
