/**
 * What a notification can say about an event: a flat record of text values
 * (the event's fields, dates as ISO-8601, the job error as error.tag and
 * error.message, plus topic and handler), and the {placeholder} templates
 * that read it.
 */
import type { SchedulerEvent } from "../../domain/events.js"

export type EventFields = Readonly<Record<string, string>>

const text = (value: unknown): string =>
  value instanceof Date ? value.toISOString() : value === null || value === undefined ? "" : String(value)

export const eventFields = (event: SchedulerEvent, topic: string, handler: string | null): EventFields => {
  const fields: Record<string, string> = { topic, type: event._tag }
  if (handler !== null) fields.handler = handler
  for (const [key, value] of Object.entries(event)) {
    if (key === "_tag") continue
    if (value !== null && typeof value === "object" && !(value instanceof Date)) {
      for (const [inner, innerValue] of Object.entries(value)) fields[`${key}.${inner}`] = text(innerValue)
    } else fields[key] = text(value)
  }
  return fields
}

/** Replaces each {name} with the field of that name; an unknown name stays as written, so a typo shows. */
export const renderTemplate = (template: string, fields: EventFields): string =>
  template.replace(/\{([A-Za-z0-9_.]+)\}/g, (whole, name: string) => fields[name] ?? whole)

/** The message when a rule has no template: what happened and to what. */
export const defaultTemplate = (topic: string): string => {
  if (topic === "job.released.missed_start_deadline") return "Missed run of task {taskId} (scheduled {scheduledFireTime})"
  if (topic.startsWith("job.released.")) {
    return topic === "job.released.success"
      ? "Job {jobId} of task {taskId} succeeded"
      : "Job {jobId} of task {taskId}: {outcome} (attempt {attempt}) {error.tag}: {error.message}"
  }
  if (topic === "handler.offline") {
    return "Handler {handlerId}: instance {instanceId} went offline ({reason}); {instancesOnline} instance(s) online"
  }
  if (topic === "handler.online") return "Handler {handlerId}: instance {instanceId} is online; {instancesOnline} instance(s) online"
  if (topic === "schedule.paused") return "Schedule {scheduleId} of task {taskId} paused"
  if (topic === "schedule.resumed") return "Schedule {scheduleId} of task {taskId} resumed; next run {nextFireTime}"
  if (topic.startsWith("schedule.")) return "Schedule {scheduleId} of task {taskId}: {topic}"
  return "{topic}"
}
