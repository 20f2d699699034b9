import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { FerryError, type FunctionSpec } from "@ferry/contracts";

/** Credentials the gateway accepts. Absent from the options: the operator API is open. */
export interface AuthOptions {
  /** Bearer tokens with every right (operator API, dashboard, metrics, every function). */
  tokens?: readonly string[];
  /** Basic-auth users with every right; what a browser uses for `/ui`. */
  users?: ReadonlyArray<{ user: string; password: string }>;
  /** Tokens that may only invoke functions with `auth: token`: all of them, or one `function`. */
  invokeTokens?: ReadonlyArray<{ token: string; function?: string }>;
  /** Leave `/system`, `/ui` and `/metrics` open (AUTH_DISABLED); functions stay guarded. */
  open?: boolean;
}

/** Who a request's credentials belong to. */
type Identity = { role: "admin" } | { role: "invoke"; function?: string | undefined };

/** Paths behind the operator credentials: the `/system` API, the dashboard and metrics. */
export const PROTECTED_PREFIXES: readonly string[] = ["/system", "/ui", "/metrics"];

/** The challenge sent with a 401, so that a browser prompts for basic credentials. */
export const BASIC_CHALLENGE = 'Basic realm="ferry"';

/** Decides who a request is; secrets are compared as SHA-256 digests in constant time. */
export interface Authenticator {
  /** The identity of the request's `Authorization` header, or undefined. */
  identify(header: string | undefined): Identity | undefined;
  /** Throws 401/403 unless the request may invoke `spec` (only for `auth: token`). */
  checkInvoke(req: FastifyRequest, reply: FastifyReply, spec: FunctionSpec): void;
}

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/** Constant-time membership: every candidate is compared, whatever matches. */
function findDigest<T extends { digest: Buffer }>(
  list: readonly T[],
  secret: string,
): T | undefined {
  const d = digest(secret);
  let found: T | undefined;
  for (const item of list) if (timingSafeEqual(item.digest, d) && !found) found = item;
  return found;
}

/** Builds the authenticator of a set of credentials. */
export function createAuthenticator(opts: AuthOptions): Authenticator {
  const tokens = (opts.tokens ?? []).map((t) => ({ digest: digest(t) }));
  const users = (opts.users ?? []).map((u) => ({ digest: digest(`${u.user}:${u.password}`) }));
  const invoke = (opts.invokeTokens ?? []).map((t) => ({
    digest: digest(t.token),
    fn: t.function,
  }));
  const identify = (header: string | undefined): Identity | undefined => {
    if (!header) return undefined;
    const space = header.indexOf(" ");
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (space < 0 || !value) return undefined;
    if (scheme === "basic") {
      const pair = Buffer.from(value, "base64").toString("utf8");
      return findDigest(users, pair) ? { role: "admin" } : undefined;
    }
    if (scheme !== "bearer") return undefined;
    if (findDigest(tokens, value)) return { role: "admin" };
    const inv = findDigest(invoke, value);
    return inv ? { role: "invoke", function: inv.fn } : undefined;
  };
  return {
    identify,
    checkInvoke(req, reply, spec) {
      const who = identify(req.headers.authorization);
      if (!who) {
        reply.header("www-authenticate", 'Bearer realm="ferry"');
        throw new FerryError("Unauthorized", `function "${spec.name}" needs a bearer token`);
      }
      if (who.role === "invoke" && who.function !== undefined && who.function !== spec.name) {
        throw new FerryError("Forbidden", `this token may not invoke "${spec.name}"`);
      }
    },
  };
}

/** True when `path` (without query) is one of the protected prefixes or below one. */
export function isProtectedPath(path: string): boolean {
  for (const prefix of PROTECTED_PREFIXES) {
    if (!path.startsWith(prefix)) continue;
    const next = path.charCodeAt(prefix.length);
    // end, `/` or `?`
    if (Number.isNaN(next) || next === 47 || next === 63) return true;
  }
  return false;
}

/** The path a request is routed by: the route's pattern, else the decoded URL path. */
function routedPath(req: FastifyRequest): string {
  const route = req.routeOptions.url;
  if (route !== undefined) return route;
  const raw = req.url.split("?")[0] ?? "";
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The guard of every route under the protected prefixes, present and future (the gateway calls it
 * from its one `onRequest` hook): no or unknown credentials get 401 with a basic challenge, an
 * invoke-only token 403. The route pattern is checked as well as the URL, so that an encoded path
 * (`/%73ystem`) cannot slip by.
 */
export function authGuard(auth: Authenticator): (req: FastifyRequest, reply: FastifyReply) => void {
  return (req, reply) => {
    if (!isProtectedPath(req.url) && !isProtectedPath(routedPath(req))) return;
    const who = auth.identify(req.headers.authorization);
    if (!who) {
      reply.header("www-authenticate", BASIC_CHALLENGE);
      const given = req.headers.authorization
        ? "the credentials are not valid"
        : "credentials needed";
      throw new FerryError("Unauthorized", given);
    }
    if (who.role !== "admin") {
      throw new FerryError("Forbidden", "these credentials may only invoke functions");
    }
  };
}
