import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { JetStreamManager } from "@nats-io/jetstream";
import { FerryError, FunctionSpec, NAME_PATTERN, Streams, Subjects } from "@ferry/contracts";
import type { EndpointTable, FunctionRegistry } from "@ferry/jetstream";
import { jsonBodyOf } from "./request-parts.js";

/** What the registry routes need. */
export interface SystemFunctionsOptions {
  registry: FunctionRegistry;
  endpoints: EndpointTable;
  jsm: JetStreamManager;
}

type ByName = FastifyRequest<{ Params: { name: string } }>;

/** `/system/functions[/:name]`: list, show, create, replace and remove functions. */
export function systemFunctionsRoutes(app: FastifyInstance, opts: SystemFunctionsOptions): void {
  const { registry } = opts;
  const withStatus = async (specs: FunctionSpec[]): Promise<unknown[]> => {
    const queued = await queuedPerFunction(opts.jsm);
    return specs.map((spec) => ({ ...spec, status: statusOf(spec, opts.endpoints, queued) }));
  };
  const existing = (name: string): FunctionSpec => {
    const spec = NAME_PATTERN.test(name) ? registry.get(name) : undefined;
    if (!spec) throw new FerryError("FunctionNotFound", `function "${name}" not found`);
    return spec;
  };
  app.get("/system/functions", async () =>
    withStatus(registry.list().sort((a, b) => a.name.localeCompare(b.name))),
  );
  app.get("/system/functions/:name", async (req: ByName) => {
    const [one] = await withStatus([existing(req.params.name)]);
    return one;
  });
  app.post("/system/functions", async (req, reply) => {
    const spec = parseSpec(req.body);
    if (registry.get(spec.name) || !(await registry.create(spec))) {
      throw new FerryError("Conflict", `function "${spec.name}" exists; use PUT to replace it`);
    }
    return reply.code(201).send(spec);
  });
  const replace = async (
    req: FastifyRequest,
    reply: FastifyReply,
    name?: string,
  ): Promise<unknown> => {
    const spec = parseSpec(req.body, name);
    const created = registry.get(spec.name) === undefined;
    await registry.put(spec);
    return reply.code(created ? 201 : 200).send(spec);
  };
  app.put("/system/functions", async (req, reply) => replace(req, reply));
  app.put("/system/functions/:name", async (req: ByName, reply) =>
    replace(req, reply, req.params.name),
  );
  const remove = async (name: string, reply: FastifyReply): Promise<unknown> => {
    existing(name);
    await registry.remove(name);
    return reply.code(202).send({ name, removed: true });
  };
  app.delete("/system/functions/:name", async (req: ByName, reply) =>
    remove(req.params.name, reply),
  );
  // OpenFaaS form: the name in the body as `functionName`.
  app.delete("/system/functions", async (req, reply) => {
    const body = jsonBodyOf(req.body) as { functionName?: unknown };
    if (typeof body.functionName !== "string") {
      throw new FerryError("BadRequest", "functionName: expected the name of a function");
    }
    return remove(body.functionName, reply);
  });
}

function statusOf(
  spec: FunctionSpec,
  endpoints: EndpointTable,
  queued: Map<string, number>,
): Record<string, number | null> {
  const scale = endpoints.scale(spec.name);
  return {
    ready: spec.watchdog ? endpoints.list(spec.name).length : null,
    desired: spec.watchdog ? (scale?.desired ?? null) : null,
    queued: queued.get(spec.name) ?? 0,
    inflight: scale?.inflight ?? null,
  };
}

/** Calls stored per function in FERRY_INVOKE: waiting and running (it is a work queue). */
async function queuedPerFunction(jsm: JetStreamManager): Promise<Map<string, number>> {
  const info = await jsm.streams.info(Streams.Invoke, { subjects_filter: `${Subjects.Invoke}.>` });
  const out = new Map<string, number>();
  for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
    const fn = subject.split(".").at(-1) ?? "";
    out.set(fn, (out.get(fn) ?? 0) + n);
  }
  return out;
}

/** Validates a spec body; every problem is named with its path. */
function parseSpec(body: unknown, name?: string): FunctionSpec {
  const raw = jsonBodyOf(body);
  const input = name && typeof raw === "object" && raw ? { name, ...raw } : raw;
  const parsed = FunctionSpec.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.join(".") || "(body)"}: ${i.message}`,
    );
    throw new FerryError("BadRequest", problems.join("; "));
  }
  if (name && parsed.data.name !== name) {
    throw new FerryError(
      "BadRequest",
      `name: "${parsed.data.name}" differs from the URL's "${name}"`,
    );
  }
  return parsed.data;
}
