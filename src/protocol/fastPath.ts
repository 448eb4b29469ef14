/**
 * Hand-written checks for the messages that flow once per job (run, result,
 * cancel, heartbeat, deregister): Schema decoding costs tens of microseconds a
 * message, too much at tens of thousands of jobs a second. Each check accepts
 * only what the Schema in messages.ts accepts (it may be stricter); whatever
 * it does not accept goes through the Schema, which decides and explains.
 */
import type { HandlerMessage, ServerMessage } from "./messages.js"

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)
const isName = (value: unknown): value is string => typeof value === "string" && value.length >= 1 && value.length <= 200
const isAttempt = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value > 0

const isResult = (json: Json): boolean => {
  if (!isName(json.jobId) || !isAttempt(json.attempt)) return false
  if (json.ok === true) return true
  if (json.ok !== false || !isObject(json.error)) return false
  const { tag, message } = json.error
  return typeof tag === "string" && tag.length <= 200 && typeof message === "string"
}

const isRun = (json: Json): boolean =>
  isName(json.jobId) && isAttempt(json.attempt) && isName(json.method) && Array.isArray(json.args) &&
  isObject(json.kwargs) && (json.deadline === null || typeof json.deadline === "string")

const isCancel = (json: Json): boolean => isName(json.jobId) && isAttempt(json.attempt)

/** The message when it passes the fast checks, else undefined (decode it with the Schema). */
export const fastHandlerMessage = (json: unknown): HandlerMessage | undefined => {
  if (!isObject(json)) return undefined
  switch (json.type) {
    case "result":
      return isResult(json) ? (json as unknown as HandlerMessage) : undefined
    case "heartbeat":
    case "deregister":
      return json as unknown as HandlerMessage
    default:
      return undefined
  }
}

export const fastServerMessage = (json: unknown): ServerMessage | undefined => {
  if (!isObject(json)) return undefined
  switch (json.type) {
    case "run":
      return isRun(json) ? (json as unknown as ServerMessage) : undefined
    case "cancel":
      return isCancel(json) ? (json as unknown as ServerMessage) : undefined
    case "heartbeat":
      return json as unknown as ServerMessage
    default:
      return undefined
  }
}
