"use client";
import * as React from "react";
import { useStore } from "zustand";
import { DndContext, KeyboardSensor, PointerSensor, closestCorners, useSensor, useSensors, type DragEndEvent } from "@dnd-kit/core";
import { SortableContext, sortableKeyboardCoordinates, useSortable, verticalListSortingStrategy } from "@dnd-kit/sortable";
import { CSS } from "@dnd-kit/utilities";
import { ArrowDown, ArrowUp, ChevronDown, GripVertical, Plus, Trash2 } from "lucide-react";
import { Field } from "@/components/field";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Textarea } from "@/components/ui/textarea";
import type { EditorStore } from "@/lib/editor-store";
import { checkValue, keywordsToList, linesToList, listToKeywords, listToLines } from "@/lib/forms";
import { BASICS_FIELDS, LOCATION_FIELDS, PROFILE_FIELDS, entries, getAt, pathKey, sectionDef, sectionOrder, type FieldDef, type Path } from "@/lib/resume-model";
import { cn } from "@/lib/utils";

const Ctx = React.createContext<EditorStore | null>(null);
export const EditorStoreProvider = Ctx.Provider;
function useEditor<T>(sel: (s: ReturnType<EditorStore["getState"]>) => T): T {
  const store = React.useContext(Ctx);
  if (!store) throw new Error("no editor store");
  return useStore(store, sel);
}
function useEditorApi() {
  return React.useContext(Ctx)!;
}

const idOf = (path: Path) => "f-" + path.join("-");

/** A list kept as text (lines or comma separated); local text so typing ", " is not eaten. */
function ListText({ value, kind, onChange, ...p }: { value: unknown; kind: "lines" | "keywords"; onChange: (v: string[]) => void } & Record<string, unknown>) {
  const toText = kind === "lines" ? listToLines : listToKeywords;
  const toList = kind === "lines" ? linesToList : keywordsToList;
  const [text, setText] = React.useState(() => toText(value));
  React.useEffect(() => {
    if (JSON.stringify(toList(text)) !== JSON.stringify(Array.isArray(value) ? value : [])) setText(toText(value));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  const props = {
    ...p,
    value: text,
    onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => {
      setText(e.target.value);
      onChange(toList(e.target.value));
    },
  };
  return kind === "lines" ? <Textarea rows={3} {...props} /> : <Input {...props} />;
}

function FormField({ def, path }: { def: FieldDef; path: Path }) {
  const value = useEditor((s) => getAt(s.data, path));
  const serverError = useEditor((s) => s.fieldErrors[pathKey(path)]);
  const warning = useEditor((s) => s.warnings.find((w) => w.pointer === "/data/" + path.join("/"))?.message);
  const store = useEditorApi();
  const [touched, setTouched] = React.useState(false);
  const localError = touched ? checkValue(def.kind, value) : null;
  const set = (v: unknown) => store.getState().edit(path, v);
  const str = typeof value === "string" ? value : "";
  return (
    <Field id={idOf(path)} label={def.label} error={serverError || localError} warning={warning} className={def.wide ? "sm:col-span-2" : ""}>
      {(p) =>
        def.kind === "textarea" ? (
          <Textarea {...p} rows={4} value={str} onChange={(e) => set(e.target.value)} onBlur={() => setTouched(true)} dir="auto" />
        ) : def.kind === "lines" || def.kind === "keywords" ? (
          <ListText {...p} kind={def.kind} value={value} onChange={set} onBlur={() => setTouched(true)} dir="auto" />
        ) : (
          <Input
            {...p}
            type={def.kind === "email" ? "email" : def.kind === "url" ? "url" : def.kind === "phone" ? "tel" : "text"}
            inputMode={def.kind === "date" ? "numeric" : undefined}
            placeholder={def.placeholder}
            value={str}
            onChange={(e) => set(e.target.value)}
            onBlur={() => setTouched(true)}
            dir="auto"
          />
        )
      }
    </Field>
  );
}

function FieldGrid({ defs, base }: { defs: FieldDef[]; base: Path }) {
  return (
    <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
      {defs.map((d) => (
        <FormField key={d.key} def={d} path={[...base, d.key]} />
      ))}
    </div>
  );
}

function Collapsible({ title, children, defaultOpen = true, handle, actions, testId }: { title: React.ReactNode; children: React.ReactNode; defaultOpen?: boolean; handle?: React.ReactNode; actions?: React.ReactNode; testId?: string }) {
  const [open, setOpen] = React.useState(defaultOpen);
  const bodyId = React.useId();
  return (
    <div className="min-w-0 rounded-xl border bg-card shadow-sm" data-testid={testId}>
      <div className="flex min-w-0 items-center gap-1 p-2 pl-3">
        {handle}
        <button
          type="button"
          className="flex min-w-0 flex-1 items-center gap-2 rounded-md px-1 py-1 text-left font-medium outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50"
          aria-expanded={open}
          aria-controls={bodyId}
          onClick={() => setOpen(!open)}
        >
          <ChevronDown aria-hidden="true" className={cn("size-4 shrink-0 transition-transform", !open && "-rotate-90")} />
          <span className="min-w-0 truncate" dir="auto">
            {title}
          </span>
        </button>
        {actions}
      </div>
      <div id={bodyId} hidden={!open} className="border-t p-4">
        {children}
      </div>
    </div>
  );
}

export function BasicsForm() {
  const rawProfiles = useEditor((s) => getAt(s.data, ["basics", "profiles"]));
  const profiles = Array.isArray(rawProfiles) ? (rawProfiles as unknown[]) : [];
  const store = useEditorApi();
  return (
    <Collapsible title="Personal details" testId="section-basics">
      <div className="grid grid-cols-1 gap-6">
        <FieldGrid defs={BASICS_FIELDS} base={["basics"]} />
        <fieldset className="grid min-w-0 grid-cols-1 gap-3">
          <legend className="mb-2 text-sm font-semibold">Location</legend>
          <FieldGrid defs={LOCATION_FIELDS} base={["basics", "location"]} />
        </fieldset>
        <fieldset className="grid min-w-0 grid-cols-1 gap-3">
          <legend className="mb-2 text-sm font-semibold">Profiles</legend>
          {profiles.map((_, i) => (
            <div key={i} className="grid grid-cols-1 gap-2 rounded-lg border p-3">
              <FieldGrid defs={PROFILE_FIELDS} base={["basics", "profiles", i]} />
              <Button
                type="button"
                variant="ghost"
                size="sm"
                className="w-fit text-destructive"
                onClick={() => {
                  const list = profiles.filter((__, j) => j !== i);
                  store.getState().edit(["basics", "profiles"], list);
                }}
              >
                <Trash2 aria-hidden="true" /> Remove profile {i + 1}
              </Button>
            </div>
          ))}
          <Button type="button" variant="outline" size="sm" className="w-fit" onClick={() => store.getState().edit(["basics", "profiles"], [...profiles, { network: "" }])}>
            <Plus aria-hidden="true" /> Add profile
          </Button>
        </fieldset>
      </div>
    </Collapsible>
  );
}

function useDnd() {
  return useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 5 } }), useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }));
}

function DragHandle({ label, attributes, listeners }: { label: string; attributes: object; listeners: object | undefined }) {
  return (
    <button
      type="button"
      className="cursor-grab touch-none rounded-md p-1 text-muted-foreground outline-none hover:bg-accent focus-visible:ring-[3px] focus-visible:ring-ring/50 active:cursor-grabbing"
      aria-label={label}
      {...attributes}
      {...listeners}
    >
      <GripVertical aria-hidden="true" className="size-4" />
    </button>
  );
}

function MoveButtons({ name, index, count, onMove }: { name: string; index: number; count: number; onMove: (to: number) => void }) {
  return (
    <>
      <Button type="button" variant="ghost" size="icon" className="size-8" aria-label={`Move ${name} up`} disabled={index === 0} onClick={() => onMove(index - 1)}>
        <ArrowUp aria-hidden="true" />
      </Button>
      <Button type="button" variant="ghost" size="icon" className="size-8" aria-label={`Move ${name} down`} disabled={index === count - 1} onClick={() => onMove(index + 1)}>
        <ArrowDown aria-hidden="true" />
      </Button>
    </>
  );
}

function SortableEntry({ section, index, count }: { section: string; index: number; count: number }) {
  const def = sectionDef(section)!;
  const entry = useEditor((s) => entries(s.data, section)[index]) ?? {};
  const store = useEditorApi();
  const id = `${section}-${index}`;
  const { attributes, listeners, setNodeRef, transform, transition, isDragging } = useSortable({ id });
  const title = def.title(entry);
  const name = `${def.entry} ${index + 1} (${title})`;
  return (
    <li ref={setNodeRef} style={{ transform: CSS.Transform.toString(transform), transition }} className={cn("min-w-0", isDragging && "relative z-10 opacity-80")}>
      <Collapsible
        title={title}
        testId={`entry-${section}-${index}`}
        handle={<DragHandle label={`Drag ${name}`} attributes={attributes} listeners={listeners} />}
        actions={
          <>
            <MoveButtons name={name} index={index} count={count} onMove={(to) => store.getState().moveEntry(section, index, to)} />
            <Button type="button" variant="ghost" size="icon" className="size-8 text-destructive" aria-label={`Remove ${name}`} onClick={() => store.getState().removeEntry(section, index)}>
              <Trash2 aria-hidden="true" />
            </Button>
          </>
        }
      >
        <FieldGrid defs={def.fields} base={[section, index]} />
      </Collapsible>
    </li>
  );
}

function SectionBody({ section }: { section: string }) {
  const count = useEditor((s) => entries(s.data, section).length);
  const store = useEditorApi();
  const sensors = useDnd();
  const def = sectionDef(section)!;
  const ids = Array.from({ length: count }, (_, i) => `${section}-${i}`);
  function onDragEnd(e: DragEndEvent) {
    if (!e.over || e.active.id === e.over.id) return;
    store.getState().moveEntry(section, ids.indexOf(String(e.active.id)), ids.indexOf(String(e.over.id)));
  }
  return (
    <div className="grid grid-cols-1 gap-3">
      {count === 0 && <p className="text-sm text-muted-foreground">Nothing here yet; sections without entries are left out of the PDF.</p>}
      <DndContext sensors={sensors} collisionDetection={closestCorners} onDragEnd={onDragEnd} accessibility={{ screenReaderInstructions: { draggable: "To pick up an entry, press space or enter. Use the arrow keys to move it, space or enter to drop it, escape to cancel." } }}>
        <SortableContext items={ids} strategy={verticalListSortingStrategy}>
          <ul className="grid grid-cols-1 gap-3" aria-label={def.label + " entries"}>
            {ids.map((id, i) => (
              <SortableEntry key={id} section={section} index={i} count={count} />
            ))}
          </ul>
        </SortableContext>
      </DndContext>
      <Button type="button" variant="outline" size="sm" className="w-fit" onClick={() => store.getState().addEntry(section)}>
        <Plus aria-hidden="true" /> Add {def.entry}
      </Button>
    </div>
  );
}

function SortableSection({ section, index, count }: { section: string; index: number; count: number }) {
  const def = sectionDef(section)!;
  const n = useEditor((s) => entries(s.data, section).length);
  const store = useEditorApi();
  const { attributes, listeners, setNodeRef, transform, transition, isDragging } = useSortable({ id: section });
  return (
    <li ref={setNodeRef} style={{ transform: CSS.Transform.toString(transform), transition }} className={cn("min-w-0", isDragging && "relative z-10 opacity-80")} data-section={section}>
      <Collapsible
        defaultOpen={n > 0}
        testId={`section-${section}`}
        title={
          <>
            {def.label} <span className="text-xs font-normal text-muted-foreground">({n})</span>
          </>
        }
        handle={<DragHandle label={`Drag section ${def.label}`} attributes={attributes} listeners={listeners} />}
        actions={<MoveButtons name={`section ${def.label}`} index={index} count={count} onMove={(to) => store.getState().moveSection(index, to)} />}
      >
        <SectionBody section={section} />
      </Collapsible>
    </li>
  );
}

export function SectionsForm() {
  const order = useEditor((s) => sectionOrder(s.data).join(","));
  const list = order.split(",");
  const store = useEditorApi();
  const sensors = useDnd();
  function onDragEnd(e: DragEndEvent) {
    if (!e.over || e.active.id === e.over.id) return;
    store.getState().moveSection(list.indexOf(String(e.active.id)), list.indexOf(String(e.over.id)));
  }
  return (
    <DndContext sensors={sensors} collisionDetection={closestCorners} onDragEnd={onDragEnd} accessibility={{ screenReaderInstructions: { draggable: "To pick up a section, press space or enter. Use the arrow keys to move it, space or enter to drop it, escape to cancel." } }}>
      <SortableContext items={list} strategy={verticalListSortingStrategy}>
        <ul className="grid grid-cols-1 gap-4" aria-label="Sections, in the order of the PDF">
          {list.map((s, i) => (
            <SortableSection key={s} section={s} index={i} count={list.length} />
          ))}
        </ul>
      </SortableContext>
    </DndContext>
  );
}
