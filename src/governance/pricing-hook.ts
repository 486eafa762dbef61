/**
 * Hands each model call the prices of the config it runs under (its leased runtime's), so that its cost is
 * computed where its usage is reported (src/telemetry/record-observer.ts) and a reload mid-call does not reprice
 * it. Register after the runtime leases.
 */
import type { FastifyInstance } from "fastify";
import type { RuntimeOf } from "../http/request-runtime.ts";

export function registerPricing(app: FastifyInstance, runtimeOf: RuntimeOf): void {
  app.addHook("onRequest", (request, _reply, done) => {
    const record = request.record;
    if (record?.modelCall === true) record.prices = runtimeOf(request).config.file.prices;
    done();
  });
}
