// The OpenTelemetry SDK, for service entries only: libraries use `@opentelemetry/api` and
// ./tracing.ts. Kept out of the package's main entry so that importing @ferry/runtime never
// loads the SDK.

/** A started SDK; `shutdown` flushes spans still buffered. */
export interface OtelSdk {
  readonly enabled: boolean;
  shutdown(): Promise<void>;
}

/**
 * Starts tracing when the standard OTEL_* variables ask for it (an OTLP endpoint, or
 * OTEL_TRACES_EXPORTER other than `none`) and OTEL_SDK_DISABLED is not `true`. Otherwise
 * nothing is loaded and the API stays a no-op, so tracing costs nothing when off.
 */
export async function startSdk(
  serviceName: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OtelSdk> {
  if (!tracingRequested(env)) return { enabled: false, shutdown: async () => {} };
  const { NodeSDK } = await import("@opentelemetry/sdk-node");
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? serviceName,
    instrumentations: [],
  });
  sdk.start();
  return { enabled: true, shutdown: () => sdk.shutdown() };
}

/** Whether the environment asks for traces to be exported. */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED === "true") return false;
  const exporter = env.OTEL_TRACES_EXPORTER;
  if (exporter !== undefined && exporter !== "") return exporter !== "none";
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}
