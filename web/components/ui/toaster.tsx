"use client";
import * as React from "react";
import { Toast as ToastPrimitive } from "radix-ui";
import { create } from "zustand";
import { cn } from "@/lib/utils";

type Toast = { id: number; title: string; description?: string; variant?: "default" | "destructive" };
type ToastState = { toasts: Toast[]; push: (t: Omit<Toast, "id">) => void; drop: (id: number) => void };

let next = 1;
export const useToasts = create<ToastState>((set) => ({
  toasts: [],
  push: (t) => set((s) => ({ toasts: [...s.toasts.slice(-3), { ...t, id: next++ }] })),
  drop: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
}));

export function toast(title: string, description?: string, variant: Toast["variant"] = "default") {
  useToasts.getState().push({ title, description, variant });
}

export function Toaster() {
  const { toasts, drop } = useToasts();
  return (
    <ToastPrimitive.Provider duration={5000} label="Notification">
      {toasts.map((t) => (
        <ToastPrimitive.Root
          key={t.id}
          onOpenChange={(open) => !open && drop(t.id)}
          className={cn(
            "grid gap-1 rounded-lg border bg-card p-4 pr-8 shadow-lg",
            t.variant === "destructive" && "border-destructive/50 text-destructive",
          )}
        >
          <ToastPrimitive.Title className="text-sm font-semibold">{t.title}</ToastPrimitive.Title>
          {t.description && <ToastPrimitive.Description className="text-sm opacity-90">{t.description}</ToastPrimitive.Description>}
          <ToastPrimitive.Close aria-label="Dismiss" className="absolute top-2 right-2 rounded px-1 text-muted-foreground hover:text-foreground">
            ×
          </ToastPrimitive.Close>
        </ToastPrimitive.Root>
      ))}
      <ToastPrimitive.Viewport className="fixed right-0 bottom-0 z-[100] flex max-h-screen w-full flex-col gap-2 p-4 sm:max-w-sm" />
    </ToastPrimitive.Provider>
  );
}
