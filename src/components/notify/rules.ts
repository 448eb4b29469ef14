/**
 * A notifier rule from config, compiled: which events it sends. Every
 * condition given must hold; within a list, any entry matches. Without
 * `include_retries`, a failed attempt that will be retried is not sent (the
 * job's final outcome is).
 */
import type { SchedulerEvent } from "../../domain/events.js"
import type { NotifierEntry } from "../../config/sections/events.js"

export interface CompiledRule {
  readonly entry: NotifierEntry
  readonly matchesTopic: (topic: string) => boolean
  readonly matches: (event: SchedulerEvent, topic: string, handler: string | null) => boolean
}

const field = (event: SchedulerEvent, key: string): unknown => (event as unknown as Record<string, unknown>)[key]

export const compileRule = (entry: NotifierEntry): CompiledRule => {
  const tasks = entry.tasks === undefined ? null : new Set(entry.tasks)
  const handlers = entry.handlers === undefined ? null : new Set(entry.handlers)
  const outcomes = entry.outcomes === undefined ? null : new Set<string>(entry.outcomes)
  const matchesTopic = (topic: string) => entry.topics.some((prefix) => topic.startsWith(prefix))
  return {
    entry,
    matchesTopic,
    matches: (event, topic, handler) => {
      if (!matchesTopic(topic)) return false
      if (field(event, "willRetry") === true && entry.includeRetries !== true) return false
      if (tasks !== null && !tasks.has(String(field(event, "taskId")))) return false
      if (outcomes !== null && !outcomes.has(String(field(event, "outcome")))) return false
      if (handlers !== null) {
        const own = field(event, "handlerId")
        const resolved = typeof own === "string" ? own : handler
        if (resolved === null || !handlers.has(resolved)) return false
      }
      return true
    }
  }
}
