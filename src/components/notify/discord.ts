/**
 * The Discord webhook message for an event: the rule's text as content's
 * embed description, with a title, colour and fields chosen by what happened
 * (job failure, missed run, handler offline/online, schedule paused/resumed,
 * anything else).
 * Lengths are cut to Discord's limits (title 256, description 4096, field 1024).
 */
import type { EventFields } from "./fields.js"

const colors = { failure: 0xe74c3c, warning: 0xe67e22, good: 0x2ecc71, neutral: 0x95a5a6 } as const

const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

interface Look {
  readonly title: string
  readonly color: number
}

const lookOf = (topic: string, fields: EventFields): Look => {
  const task = fields.taskId ?? ""
  switch (topic) {
    case "job.released.error":
    case "job.released.abandoned":
    case "job.released.deserialization_failed":
      return { title: `Job failed: ${task}`, color: colors.failure }
    case "job.released.missed_start_deadline":
      return { title: `Missed run: ${task}`, color: colors.warning }
    case "job.released.cancelled":
      return { title: `Job cancelled: ${task}`, color: colors.warning }
    case "job.released.success":
      return { title: `Job succeeded: ${task}`, color: colors.good }
    case "handler.offline":
      return { title: `Handler offline: ${fields.handlerId ?? ""}`, color: colors.failure }
    case "handler.online":
      return { title: `Handler online: ${fields.handlerId ?? ""}`, color: colors.good }
    case "schedule.paused":
      return { title: `Schedule paused: ${fields.scheduleId ?? ""}`, color: colors.warning }
    case "schedule.resumed":
      return { title: `Schedule resumed: ${fields.scheduleId ?? ""}`, color: colors.good }
    default:
      return { title: topic, color: colors.neutral }
  }
}

/** Event fields shown as embed fields, in this order, when present. */
const shown: ReadonlyArray<readonly [key: string, label: string, inline: boolean]> = [
  ["taskId", "Task", true],
  ["scheduleId", "Schedule", true],
  ["handler", "Handler", true],
  ["handlerId", "Handler", true],
  ["instanceId", "Instance", true],
  ["reason", "Reason", true],
  ["instancesOnline", "Instances online", true],
  ["attempt", "Attempt", true],
  ["schedulerId", "Scheduler", true],
  ["scheduledFireTime", "Scheduled for", true],
  ["error.tag", "Error", false]
]

export interface DiscordMessage {
  readonly username?: string
  readonly content?: string
  readonly embeds: ReadonlyArray<Record<string, unknown>>
  /** No @everyone/@here or role pings from event text. */
  readonly allowed_mentions: { readonly parse: ReadonlyArray<string> }
}

export const discordMessage = (options: {
  readonly topic: string
  readonly fields: EventFields
  readonly text: string
  readonly username: string | undefined
}): DiscordMessage => {
  const { fields, topic } = options
  const look = lookOf(topic, fields)
  const embedFields: Array<{ name: string; value: string; inline: boolean }> = []
  const labels = new Set<string>()
  for (const [key, label, inline] of shown) {
    const value = fields[key]
    if (value === undefined || value === "" || labels.has(label)) continue
    labels.add(label)
    const shownValue = key === "error.tag" ? `${value}: ${fields["error.message"] ?? ""}` : value
    embedFields.push({ name: label, value: cut(shownValue, 1024), inline })
  }
  return {
    ...(options.username !== undefined && { username: options.username }),
    embeds: [
      {
        title: cut(look.title, 256),
        description: cut(options.text, 4096),
        color: look.color,
        fields: embedFields,
        ...(fields.timestamp !== undefined && fields.timestamp !== "" && { timestamp: fields.timestamp }),
        footer: { text: `ScheduleZero · ${topic}` }
      }
    ],
    allowed_mentions: { parse: [] }
  }
}
