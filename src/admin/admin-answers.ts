/**
 * Answers shared by the /admin routes: OpenAI's error envelope (the admin API is HTTP only, and its clients are the
 * same tools that read the API's errors), and zod's complaints turned into one clear 400 that names each field.
 */
import type { FastifyReply } from "fastify";
import type { z } from "zod";

/** Sends `{error: {message, type, param, code}}` with `status`. */
export function sendAdminError(
  reply: FastifyReply,
  status: 400 | 404 | 409,
  message: string,
  code: string,
  param: string | null = null,
): FastifyReply {
  return reply.status(status).send({ error: { message, type: "invalid_request_error", param, code } });
}

/** A 400 listing every problem of a request body or query (`limits.rpm: Too small: expected number to be >0`). */
export function sendInvalid(reply: FastifyReply, error: z.ZodError, what: string): FastifyReply {
  const problems = error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    return path === "" ? issue.message : `${path}: ${issue.message}`;
  });
  const first = error.issues[0]?.path.map(String).join(".");
  return sendAdminError(
    reply,
    400,
    `Invalid ${what}: ${problems.join("; ")}`,
    "invalid_request",
    first === undefined || first === "" ? null : first,
  );
}
