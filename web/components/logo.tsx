import Link from "next/link";

export function Logo({ href = "/" }: { href?: string }) {
  return (
    <Link href={href} className="flex items-center gap-2 rounded-md font-semibold tracking-tight outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50">
      <span aria-hidden="true" className="grid size-7 place-items-center rounded-md bg-primary text-sm font-bold text-primary-foreground">
        R
      </span>
      <span>ResumeGo</span>
    </Link>
  );
}
