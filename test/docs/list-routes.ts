/**
 * Every (method, path) a Fastify app serves, read from `printRoutes({ commonPrefix: false })`: Fastify has no
 * route listing API, and an onRoute hook would have to be added before buildServer registers its plugins.
 * Each tree line is `<indent><branch>segment (METHOD, ...)`; a child's segment continues its parent's path.
 */
import type { FastifyInstance } from "fastify";

/** One served route. */
export interface ListedRoute {
  readonly method: string;
  readonly path: string;
}

const LINE = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/u;

/** Lists the app's routes (call after `ready()`). */
export function listRoutes(app: FastifyInstance): ListedRoute[] {
  const routes: ListedRoute[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split("\n")) {
    const match = LINE.exec(line);
    if (match === null) continue;
    const depth = (match[1] ?? "").length / 4;
    stack.length = depth;
    const path = `${stack.join("")}${match[2] ?? ""}`;
    stack.push(match[2] ?? "");
    for (const method of (match[3] ?? "").split(", ").filter(Boolean)) routes.push({ method, path });
  }
  return routes;
}
