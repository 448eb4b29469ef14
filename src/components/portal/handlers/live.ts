/** Live groups: the SSE event stream and Prometheus metrics. */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Duration, Effect, Schema, Stream } from "effect"
import { SchedulerEvent, type SchedulerEventTag } from "../../../domain/events.js"
import { EventBroker } from "../../../services/EventBroker.js"
import { FullApi } from "../Api.js"
import { PortalMetrics } from "../Metrics.js"
import { invalidParam } from "../params.js"

export const eventTypes: ReadonlyArray<SchedulerEventTag> = SchedulerEvent.members.map(
  (member) => member._tag as SchedulerEventTag
)

/** A comment line every so often keeps proxies from closing an idle stream. */
export const keepAliveInterval = Duration.seconds(15)

const encodeEvent = Schema.encodeSync(SchedulerEvent)
const encoder = new TextEncoder()

/** One SSE frame: the event type, and the event as JSON (dates ISO-8601, UTC). */
export const sseFrame = (event: SchedulerEvent): Uint8Array =>
  encoder.encode(`event: ${event._tag}\ndata: ${JSON.stringify(encodeEvent(event))}\n\n`)

const parseTypes = (text: string | undefined) => {
  if (text === undefined || text.trim() === "") return Effect.succeed(undefined)
  const types = text.split(",").map((type) => type.trim()).filter((type) => type !== "")
  const unknown = types.find((type) => !eventTypes.includes(type as SchedulerEventTag))
  return unknown === undefined
    ? Effect.succeed(new Set(types))
    : Effect.fail(invalidParam("types", `unknown event type '${unknown}' (known: ${eventTypes.join(", ")})`))
}

export const eventsGroup = HttpApiBuilder.group(FullApi, "events", (handlers) =>
  Effect.gen(function* () {
    const broker = yield* EventBroker
    return handlers.handle("stream", ({ urlParams }) =>
      Effect.gen(function* () {
        const types = yield* parseTypes(urlParams.types)
        const events = Stream.unwrapScoped(broker.subscribe(types === undefined ? undefined : (e) => types.has(e._tag)))
        const body = Stream.concat(
          Stream.make(encoder.encode(": connected\n\n")),
          Stream.merge(
            Stream.map(events, sseFrame),
            Stream.map(Stream.tick(keepAliveInterval), () => encoder.encode(": keep-alive\n\n")),
            { haltStrategy: "left" }
          )
        )
        return HttpServerResponse.stream(body, {
          contentType: "text/event-stream",
          headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
        })
      })
    )
  })
)

export const metricsGroup = HttpApiBuilder.group(FullApi, "metrics", (handlers) =>
  Effect.gen(function* () {
    const metrics = yield* PortalMetrics
    return handlers.handle("metrics", () => metrics.render)
  })
)
