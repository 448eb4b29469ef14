/**
 * Event topics: dotted, lowercase, most general word first, so a subscriber
 * picks a family by prefix ("job." = every job event, "job.released.error" =
 * failed attempts). The topic is the event's tag split into words
 * (ScheduleAdded → schedule.added); a JobReleased also names its outcome
 * (job.released.success, job.released.missed_start_deadline, ...), and an
 * edge's event its edge and kind (edge.pump-7.schedule.paused).
 */
import type { SchedulerEvent } from "../../../domain/events.js"

const tagTopics = new Map<string, string>()

/** "SchedulerStarted" → "scheduler.started"; new event kinds get a topic without a change here. */
export const tagTopic = (tag: string): string => {
  let topic = tagTopics.get(tag)
  if (topic === undefined) {
    topic = tag.replace(/([a-z0-9])([A-Z])/g, "$1.$2").toLowerCase()
    tagTopics.set(tag, topic)
  }
  return topic
}

export const topicOf = (event: SchedulerEvent): string =>
  event._tag === "JobReleased"
    ? `job.released.${event.outcome}`
    : event._tag === "EdgeEvent"
    ? `edge.${event.edgeId}.${event.kind}`
    : tagTopic(event._tag)

/**
 * A key that names the event's topic, for per-topic state looked up at every
 * publish, mostly without building the topic: the tag, or a finished
 * attempt's outcome (outcomes are lowercase words, tags are capitalised), or
 * for an edge's event (rare) its topic, which has dots.
 */
export const topicKey = (event: SchedulerEvent): string =>
  event._tag === "JobReleased" ? event.outcome : event._tag === "EdgeEvent" ? topicOf(event) : event._tag

/**
 * What a peer scheduler subscribes to: the events that can make work due
 * sooner (a schedule added or changed, a job added, a job released freeing a
 * task's slot), and requests to cancel a job the peer may be running. It
 * ignores the rest, so they are not sent to it.
 */
export const peerTopics: ReadonlyArray<string> = [
  "schedule.added",
  "schedule.updated",
  "job.added",
  "job.released",
  "job.cancel.requested"
]
