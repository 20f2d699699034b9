import { useCallback, useEffect, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { api, describeError } from "./api";

/** Loads `path` now and every `everyMs` (0: once); `reload` loads again. */
export function useApi<T>(
  path: string | null,
  everyMs = 0,
): { data: T | undefined; error: string | null; loading: boolean; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [n, setN] = useState(0);
  const reload = useCallback(() => setN((x) => x + 1), []);
  useEffect(() => {
    if (!path) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async (): Promise<void> => {
      try {
        const d = await api<T>(path);
        if (!live) return;
        setData(d);
        setError(null);
      } catch (err) {
        if (live) setError(describeError(err));
      } finally {
        if (live) setLoading(false);
        if (live && everyMs > 0) timer = setTimeout(() => void load(), everyMs);
      }
    };
    setLoading(true);
    void load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [path, everyMs, n]);
  return { data, error, loading, reload };
}

/** Runs an action, keeping its error or result message for display. */
export function useAction(): {
  run: (label: string, work: () => Promise<string | void>) => Promise<void>;
  message: { kind: "ok" | "error"; text: string } | null;
  busy: boolean;
} {
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (label: string, work: () => Promise<string | void>) => {
    setBusy(true);
    try {
      const text = await work();
      setMessage({ kind: "ok", text: text ?? `${label}: done` });
    } catch (err) {
      setMessage({ kind: "error", text: `${label} failed: ${describeError(err)}` });
    } finally {
      setBusy(false);
    }
  }, []);
  return { run, message, busy };
}

export function ErrorBox({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p class="error" role="alert" data-testid="error">
      {error}
    </p>
  );
}

export function Message({ message }: { message: { kind: "ok" | "error"; text: string } | null }) {
  if (!message) return null;
  return (
    <p class={message.kind === "ok" ? "ok" : "error"} role="status" data-testid="message">
      {message.text}
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return (
    <p class="empty" data-testid="empty">
      {children}
    </p>
  );
}

/** A scrolling table wrapper (phone widths). */
export function Table({ children, testid }: { children: ComponentChildren; testid?: string }) {
  return (
    <div class="overflow-auto">
      <table class="striped" data-testid={testid}>
        {children}
      </table>
    </div>
  );
}

export function time(v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === "") return "—";
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? "—" : d.toLocaleTimeString();
}

export function dateTime(v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === "") return "—";
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? "—" : d.toLocaleString();
}

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(1)} s`;
  return `${(v / 60_000).toFixed(1)} min`;
}

export function age(seconds: number | null | undefined): string {
  return seconds === null || seconds === undefined ? "—" : ms(seconds * 1000);
}
