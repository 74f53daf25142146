"use client";
import * as React from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { AuthCard } from "@/components/auth-card";
import { Field } from "@/components/field";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Alert } from "@/components/ui/alert";
import { api, ApiError } from "@/lib/api";
import { useSession } from "@/lib/session";
import { validateSignup } from "@/lib/forms";

export default function SignupPage() {
  const router = useRouter();
  const setUser = useSession((s) => s.setUser);
  const [name, setName] = React.useState("");
  const [email, setEmail] = React.useState("");
  const [password, setPassword] = React.useState("");
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    const v = validateSignup({ email, password });
    setErrors(v);
    if (Object.keys(v).length) return;
    setBusy(true);
    setError(null);
    try {
      const { data } = await api.register(email.trim(), password, name.trim() || undefined);
      setUser(data.user);
      router.replace("/dashboard");
    } catch (err) {
      if (err instanceof ApiError && err.code === "email_taken") setErrors({ email: "An account with this e-mail exists already. Sign in instead." });
      else if (err instanceof ApiError && err.field) setErrors({ [err.field.replace(/^\//, "")]: err.message });
      else if (err instanceof ApiError && err.status === 429) setError(`Too many sign-ups from here. Try again in ${err.retryAfter ?? 60} seconds.`);
      else setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthCard
      title="Create your account"
      description="Your resume as data, a designed PDF in seconds."
      footer={
        <>
          Have an account?{" "}
          <Link className="font-medium text-primary underline-offset-4 hover:underline" href="/login">
            Sign in
          </Link>
        </>
      }
    >
      <form onSubmit={submit} className="grid gap-4" noValidate>
        {error && <Alert variant="destructive">{error}</Alert>}
        <Field id="name" label="Name" hint="Optional; shown in the app only.">
          {(p) => <Input {...p} autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field id="email" label="E-mail" error={errors.email}>
          {(p) => <Input {...p} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />}
        </Field>
        <Field id="password" label="Password" error={errors.password} hint="At least 8 characters.">
          {(p) => <Input {...p} type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
        <Button type="submit" disabled={busy}>
          {busy ? "Creating account…" : "Create account"}
        </Button>
      </form>
    </AuthCard>
  );
}
