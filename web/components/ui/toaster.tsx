"use client";
import * as React from "react";
import { create } from "zustand";

// toast() and its queue are tiny and on every page; the Radix Toast that shows them
// (toaster-view.tsx) is loaded with the first toast, so it is not in any page's first load.
export type Toast = { id: number; title: string; description?: string; variant?: "default" | "destructive" };
type ToastState = { toasts: Toast[]; push: (t: Omit<Toast, "id">) => void; drop: (id: number) => void; clear: () => void };

let next = 1;
export const useToasts = create<ToastState>((set) => ({
  toasts: [],
  push: (t) => set((s) => ({ toasts: [...s.toasts.slice(-3), { ...t, id: next++ }] })),
  drop: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
  clear: () => set({ toasts: [] }),
}));

export function toast(title: string, description?: string, variant: Toast["variant"] = "default") {
  useToasts.getState().push({ title, description, variant });
}

const ToasterView = React.lazy(() => import("@/components/ui/toaster-view"));

export function Toaster() {
  const any = useToasts((s) => s.toasts.length > 0);
  const [wanted, setWanted] = React.useState(false);
  React.useEffect(() => {
    if (any) setWanted(true);
  }, [any]);
  if (!wanted && !any) return null;
  return (
    <React.Suspense fallback={null}>
      <ToasterView />
    </React.Suspense>
  );
}
