import { describe, expect, it } from "vitest";
import { addEntry, getAt, moveEntry, moveSection, pointerToKey, removeEntry, sectionOrder, setAt, SECTION_KEYS } from "@/lib/resume-model";

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
