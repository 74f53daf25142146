// Editor state (Zustand): the resume being edited, autosave and its conflicts.
//
// Every edit goes into `data` at once (the form never waits for the network) and schedules a
// save after `delay` ms of quiet.  A save is a PUT with If-Match: "<version we last saw>";
// one save is in flight at a time, and edits made meanwhile are saved right after it.
//   412 -> `conflict`: another tab or device saved first.  Nothing is overwritten and
//          autosave stops until the person picks: load theirs, or keep mine (overwrite).
//   422 -> the message goes next to the field named by the API's JSON pointer.
//   network / 5xx -> retried with backoff; edits are kept.
import { createStore, type StoreApi } from "zustand/vanilla";
import { ApiError, type Resume, type Warning } from "./api";
import { mark } from "./trace";
import { addEntry, moveEntry, moveSection, pathKey, pointerToKey, removeEntry, setAt, type Path, type ResumeDoc } from "./resume-model";

export type SaveStatus = "saved" | "pending" | "saving" | "error" | "conflict";

export type SaveFn = (id: string, version: number, title: string, data: ResumeDoc) => Promise<{ version: number; warnings?: Warning[] }>;

export type EditorState = {
  id: string;
  title: string;
  data: ResumeDoc;
  version: number;
  status: SaveStatus;
  error: string | null;
  fieldErrors: Record<string, string>;
  warnings: Warning[];
  conflictVersion: number | null;
  editSeq: number;
  savedSeq: number;
  lastEditAt: number;
  load: (r: Pick<Resume, "id" | "title" | "data" | "version"> & { warnings?: Warning[] }) => void;
  edit: (path: Path, value: unknown) => void;
  setTitle: (title: string) => void;
  addEntry: (section: string) => void;
  removeEntry: (section: string, index: number) => void;
  moveEntry: (section: string, from: number, to: number) => void;
  moveSection: (from: number, to: number) => void;
  replace: (data: ResumeDoc, title?: string) => void;
  flush: () => Promise<void>;
  overwrite: (currentVersion: number) => Promise<void>;
};

export type EditorStore = StoreApi<EditorState>;

export function createEditorStore(save: SaveFn, opts: { delay?: number; retryDelay?: number } = {}): EditorStore {
  const delay = opts.delay ?? 250;
  const retryDelay = opts.retryDelay ?? 2000;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let inFlight: Promise<void> | null = null;

  const store = createStore<EditorState>((set, get) => {
    function schedule(ms = delay) {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        void get().flush();
      }, ms);
    }

    function changed(patch: Partial<EditorState>, clearKey?: string) {
      const s = get();
      const fieldErrors = clearKey && s.fieldErrors[clearKey] ? { ...s.fieldErrors } : s.fieldErrors;
      if (clearKey && fieldErrors !== s.fieldErrors) delete fieldErrors[clearKey];
      set({ ...patch, fieldErrors, editSeq: s.editSeq + 1, lastEditAt: Date.now(), status: s.status === "conflict" ? "conflict" : "pending" });
      if (get().status !== "conflict") schedule();
    }

    async function doSave(version: number): Promise<void> {
      const s = get();
      const seq = s.editSeq;
      set({ status: "saving" });
      mark("save.start", version);
      try {
        const r = await save(s.id, version, s.title, s.data);
        mark("save.end", r.version);
        const now = get();
        set({ version: r.version, savedSeq: seq, warnings: r.warnings ?? [], error: null, conflictVersion: null });
        if (now.editSeq > seq) {
          set({ status: "pending" });
          schedule(0);
        } else set({ status: "saved" });
      } catch (e) {
        if (e instanceof ApiError && e.status === 412) {
          const m = e.etag ? /^"(\d+)"$/.exec(e.etag) : null;
          set({ status: "conflict", conflictVersion: m ? Number(m[1]) : null, error: "This resume was changed in another tab or on another device." });
        } else if (e instanceof ApiError && e.status === 422) {
          const key = e.field ? pointerToKey(e.field) : "";
          set({ status: "error", error: e.message, fieldErrors: key ? { ...get().fieldErrors, [key]: e.message } : get().fieldErrors });
        } else {
          set({ status: "error", error: e instanceof Error ? e.message : String(e) });
          schedule(retryDelay);
        }
      }
    }

    return {
      id: "",
      title: "",
      data: {},
      version: 0,
      status: "saved",
      error: null,
      fieldErrors: {},
      warnings: [],
      conflictVersion: null,
      editSeq: 0,
      savedSeq: 0,
      lastEditAt: 0,
      load: (r) => {
        if (timer) clearTimeout(timer);
        timer = null;
        set({ id: r.id, title: r.title, data: r.data ?? {}, version: r.version, status: "saved", error: null, fieldErrors: {}, warnings: r.warnings ?? [], conflictVersion: null, editSeq: 0, savedSeq: 0 });
      },
      edit: (path, value) => changed({ data: setAt(get().data, path, value) }, pathKey(path)),
      setTitle: (title) => changed({ title }, "title"),
      addEntry: (section) => changed({ data: addEntry(get().data, section) }),
      removeEntry: (section, index) => changed({ data: removeEntry(get().data, section, index) }),
      moveEntry: (section, from, to) => changed({ data: moveEntry(get().data, section, from, to) }),
      moveSection: (from, to) => changed({ data: moveSection(get().data, from, to) }),
      replace: (data, title) => changed({ data, ...(title !== undefined ? { title } : {}) }),
      flush: async () => {
        if (timer) {
          clearTimeout(timer);
          timer = null;
        }
        const s = get();
        if (s.status === "conflict" || !s.id) return;
        if (inFlight) {
          await inFlight;
          if (get().editSeq > get().savedSeq && get().status !== "conflict" && !timer) return get().flush();
          return;
        }
        if (s.editSeq === s.savedSeq) return;
        inFlight = doSave(s.version).finally(() => {
          inFlight = null;
        });
        await inFlight;
      },
      overwrite: async (currentVersion) => {
        set({ status: "pending", conflictVersion: null, error: null });
        if (inFlight) await inFlight;
        inFlight = doSave(currentVersion).finally(() => {
          inFlight = null;
        });
        await inFlight;
      },
    };
  });
  return store;
}
