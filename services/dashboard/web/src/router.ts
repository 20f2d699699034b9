import { useEffect, useState } from "preact/hooks";

/** Where the dashboard is served. */
export const BASE = "/ui";

/** The path inside the dashboard, e.g. `/calls/abc`. */
export function currentPath(): string {
  const p = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : "/";
  return p === "" ? "/" : p;
}

/** Goes to a dashboard path without reloading. */
export function navigate(path: string): void {
  history.pushState(null, "", BASE + path);
  dispatchEvent(new PopStateEvent("popstate"));
}

/** The current path and query, re-rendered on navigation. */
export function useRoute(): { path: string; query: URLSearchParams } {
  const [, tick] = useState(0);
  useEffect(() => {
    const on = (): void => tick((n) => n + 1);
    addEventListener("popstate", on);
    return () => removeEventListener("popstate", on);
  }, []);
  return { path: currentPath(), query: new URLSearchParams(location.search) };
}

/** Click handler of an in-dashboard link. */
export function linkTo(path: string) {
  return {
    href: BASE + path,
    onClick: (e: MouseEvent) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      navigate(path);
    },
  };
}
