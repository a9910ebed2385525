// Navigation from outside components (after a request, in plain functions): react-router's
// navigate, handed over by the routes component. Components use react-router's hooks and <Link>.
import type { NavigateFunction } from "react-router";

let nav: NavigateFunction | null = null;
const current = () => location.pathname + location.search;

export function setNavigate(n: NavigateFunction) {
  nav = n;
}

export function navigate(to: string, opts: { replace?: boolean } = {}) {
  if (to === current()) return;
  if (!nav) throw new Error("navigate before the router exists");
  void nav(to, { replace: opts.replace });
}
