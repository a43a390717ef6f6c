import { ROOT_CONTEXT, propagation, trace, type Context, type Tracer } from "@opentelemetry/api";

/**
 * OpenTelemetry for runbus. Spans are made through the API only: with no SDK registered (the
 * default) every call is a no-op and no header is added. `startTracing` registers the Node SDK
 * with an OTLP exporter when the standard OTEL_EXPORTER_OTLP_* variables name an endpoint.
 */
export function tracer(): Tracer {
  return trace.getTracer("runbus", "0.1.0");
}

/** Exports spans over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or its traces variant) is set; resolves a shutdown, or null when off. */
export async function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Promise<(() => Promise<void>) | null> {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return null;
  // Loaded only when tracing is on.
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
  ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME ?? serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // W3C trace context and an AsyncLocalStorage context manager, so a span follows its work.
  provider.register();
  return () => provider.shutdown();
}

/** The trace a Kafka record continues: its W3C `traceparent` header, or CloudEvents' `ce_traceparent`. */
export function contextFromHeaders(headers: Readonly<Record<string, string | undefined>>): Context {
  const traceparent = headers.traceparent ?? headers.ce_traceparent;
  if (!traceparent) return ROOT_CONTEXT;
  const tracestate = headers.tracestate ?? headers.ce_tracestate;
  return propagation.extract(ROOT_CONTEXT, { traceparent, ...(tracestate ? { tracestate } : {}) });
}

/** Headers that carry `context`'s trace onto a Kafka record (`traceparent` and `ce_traceparent`); none when tracing is off. */
export function traceHeaders(context: Context): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context, carrier);
  if (carrier.traceparent) carrier.ce_traceparent = carrier.traceparent;
  if (carrier.tracestate) carrier.ce_tracestate = carrier.tracestate;
  return carrier;
}

/** The trace id of `context`'s span, for log lines; undefined without one. */
export function traceIdOf(context: Context): string | undefined {
  const span = trace.getSpanContext(context);
  return span && trace.isSpanContextValid(span) ? span.traceId : undefined;
}
