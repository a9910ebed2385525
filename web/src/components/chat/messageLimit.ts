// The message length limit: 2000 until the API names another in a refusal, then remembered.
import { ApiError } from "../../lib/api";
import { GatewayError } from "../../lib/protocol";

export const LIMIT_KEY = "chat.message_max_chars";

export function storedLimit(): number {
  const n = Number(localStorage.getItem(LIMIT_KEY));
  return Number.isFinite(n) && n > 0 ? n : 2000;
}

export function isValidation(e: unknown): string | null {
  if (e instanceof ApiError && e.status === 422) return e.field("content") ?? e.detail;
  if (e instanceof GatewayError && e.code === "validation") return e.message;
  return null;
}
