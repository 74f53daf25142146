"use client";
import * as React from "react";
import { Label } from "@/components/ui/label";
import { cn } from "@/lib/utils";

/** A label, a control and the messages that belong to it (error in red, hint muted). */
export function Field({
  id,
  label,
  error,
  warning,
  hint,
  className,
  children,
}: {
  id: string;
  label: React.ReactNode;
  error?: string | null;
  warning?: string | null;
  hint?: React.ReactNode;
  className?: string;
  children: (p: { id: string; "aria-invalid"?: boolean; "aria-describedby"?: string }) => React.ReactNode;
}) {
  const msgId = id + "-msg";
  const hintId = id + "-hint";
  const described = [error || warning ? msgId : null, hint ? hintId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={cn("grid min-w-0 content-start gap-1.5", className)}>
      <Label htmlFor={id}>{label}</Label>
      {children({ id, "aria-invalid": error ? true : undefined, "aria-describedby": described })}
      {hint && !error && (
        <p id={hintId} className="text-xs text-muted-foreground">
          {hint}
        </p>
      )}
      {error ? (
        <p id={msgId} className="text-xs font-medium text-destructive" data-field-error>
          {error}
        </p>
      ) : warning ? (
        <p id={msgId} className="text-xs text-amber-700" data-field-warning>
          {warning}
        </p>
      ) : null}
    </div>
  );
}
