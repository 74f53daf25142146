"use client";
import * as React from "react";
import { Toast as ToastPrimitive } from "radix-ui";
import { XIcon } from "lucide-react";
import { useToasts } from "@/components/ui/toaster";
import { cn } from "@/lib/utils";

/** The toasts themselves (Radix Toast), loaded with the first toast (components/ui/toaster.tsx). */
export default function ToasterView() {
  const { toasts, drop } = useToasts();
  return (
    <ToastPrimitive.Provider duration={5000} label="Notification">
      {toasts.map((t) => (
        <ToastPrimitive.Root
          key={t.id}
          onOpenChange={(open) => !open && drop(t.id)}
          className={cn(
            "relative grid gap-1 rounded-lg border bg-card p-4 pr-10 shadow-lg",
            t.variant === "destructive" && "border-destructive/50 text-destructive",
          )}
        >
          <ToastPrimitive.Title className="text-sm font-semibold">{t.title}</ToastPrimitive.Title>
          {t.description && <ToastPrimitive.Description className="text-sm opacity-90">{t.description}</ToastPrimitive.Description>}
          <ToastPrimitive.Close aria-label="Dismiss" data-testid="toast-close" className="absolute top-2 right-2 grid size-6 place-items-center rounded text-muted-foreground outline-none hover:text-foreground focus-visible:ring-[3px] focus-visible:ring-ring/50">
            <XIcon aria-hidden="true" className="size-4" />
          </ToastPrimitive.Close>
        </ToastPrimitive.Root>
      ))}
      <ToastPrimitive.Viewport className="fixed right-0 bottom-0 z-[100] flex max-h-screen w-full flex-col gap-2 p-4 sm:max-w-sm" />
    </ToastPrimitive.Provider>
  );
}
