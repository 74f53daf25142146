import { describe, expect, it, vi } from "vitest";
import { ApiError } from "@/lib/api";
import { createEditorStore, type SaveFn } from "@/lib/editor-store";

const resume = { id: "r1", title: "T", version: 3, data: { basics: { name: "A" } } };
const tick = () => new Promise((r) => setTimeout(r, 0));

function server(start = 3) {
  // A resume store with rg-core's If-Match rule: a write needs the current version.
  let version = start;
  const writes: { version: number; data: unknown }[] = [];
  const save: SaveFn = vi.fn(async (_id, ifMatch, _title, data) => {
    await tick();
    if (ifMatch !== version) {
      const e = new ApiError(412, "precondition_failed", "stale");
      e.etag = `"${version}"`;
      throw e;
    }
    version++;
    writes.push({ version, data });
    return { version, warnings: [] };
  });
  return { save, writes, bump: () => version++, get version() { return version; } };
}

describe("editor store", () => {
  it("debounces edits into one save with If-Match and tracks the new version", async () => {
    vi.useFakeTimers();
    const s = server();
    const st = createEditorStore(s.save, { delay: 200 });
    st.getState().load(resume);
    st.getState().edit(["basics", "label"], "E");
    st.getState().edit(["basics", "label"], "En");
    st.getState().edit(["basics", "label"], "Eng");
    expect(st.getState().status).toBe("pending");
    expect(s.save).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(250);
    expect(s.save).toHaveBeenCalledTimes(1);
    expect(st.getState().version).toBe(4);
    expect(st.getState().status).toBe("saved");
    expect(s.writes[0].data).toEqual({ basics: { name: "A", label: "Eng" } });
    vi.useRealTimers();
  });

  it("saves edits made during a save right after it, never two at once", async () => {
    const s = server();
    const st = createEditorStore(s.save, { delay: 0 });
    st.getState().load(resume);
    st.getState().edit(["basics", "label"], "1");
    const p = st.getState().flush();
    st.getState().edit(["basics", "label"], "2");
    await p;
    await st.getState().flush();
    await new Promise((r) => setTimeout(r, 20));
    expect(s.writes.map((w) => (w.data as { basics: { label: string } }).basics.label)).toEqual(["1", "2"]);
    expect(st.getState().version).toBe(5);
    expect(st.getState().status).toBe("saved");
  });

  it("a stale version is a conflict: nothing is overwritten and autosave stops", async () => {
    const s = server();
    const st = createEditorStore(s.save, { delay: 0 });
    st.getState().load(resume);
    s.bump(); // another tab saved version 4
    st.getState().edit(["basics", "label"], "mine");
    await st.getState().flush();
    expect(st.getState().status).toBe("conflict");
    expect(st.getState().conflictVersion).toBe(4);
    expect(s.writes).toHaveLength(0);
    st.getState().edit(["basics", "label"], "mine 2");
    await new Promise((r) => setTimeout(r, 20));
    expect(s.save).toHaveBeenCalledTimes(1);
    expect(st.getState().status).toBe("conflict");
    await st.getState().overwrite(4);
    expect(st.getState().status).toBe("saved");
    expect(s.writes[0].data).toEqual({ basics: { name: "A", label: "mine 2" } });
  });

  it("puts a 422 next to the field its pointer names and clears it on the next edit", async () => {
    const save: SaveFn = async () => {
      throw new ApiError(422, "invalid_field", "bad date", "/data/work/0/startDate");
    };
    const st = createEditorStore(save, { delay: 0 });
    st.getState().load(resume);
    st.getState().edit(["work"], [{ startDate: "x" }]);
    await st.getState().flush();
    expect(st.getState().fieldErrors["work.0.startDate"]).toBe("bad date");
    expect(st.getState().status).toBe("error");
    st.getState().edit(["work", 0, "startDate"], "2020");
    expect(st.getState().fieldErrors["work.0.startDate"]).toBeUndefined();
  });

  it("reorders sections and entries as edits", async () => {
    const s = server();
    const st = createEditorStore(s.save, { delay: 0 });
    st.getState().load({ ...resume, data: { work: [{ name: "A" }, { name: "B" }] } });
    st.getState().moveEntry("work", 1, 0);
    st.getState().moveSection(2, 0);
    await st.getState().flush();
    const d = s.writes[0].data as { work: { name: string }[]; meta: { sectionOrder: string[] } };
    expect(d.work.map((w) => w.name)).toEqual(["B", "A"]);
    expect(d.meta.sectionOrder[0]).toBe("education");
  });
});
