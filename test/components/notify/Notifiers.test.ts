/**
 * Notifiers over real HTTP against a local server that behaves like
 * Discord's webhook endpoint: embeds for failures and missed runs, 429
 * retry_after and exhausted rate-limit buckets honoured, 5xx retried, 4xx
 * final, a full queue dropping (never blocking the publisher), rules matching
 * by topic, task, handler and outcome, peer events skipped, and the generic
 * webhook's HMAC signature.
 */
import { createHmac } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import { markFromPeer } from "../../../src/components/broker/zmq/origin.js"
import * as MemoryStore from "../../../src/components/datastore/Memory.js"
import * as Notifiers from "../../../src/components/notify/Notifiers.js"
import type { NotifierEntry } from "../../../src/config/sections/events.js"
import { HandlerOffline } from "../../../src/domain/events.js"
import { HandlerId, TaskId } from "../../../src/domain/ids.js"
import { Task } from "../../../src/domain/Task.js"
import { DataStore } from "../../../src/services/DataStore.js"
import { EventBroker } from "../../../src/services/EventBroker.js"
import { everyKind, jobAdded, jobReleased, until } from "../broker/zmqFixtures.js"
import { type Answer, fakeWebhookServer, rateLimited } from "./fakeWebhook.js"

const fast: Notifiers.NotifierOptions = { backoffBase: "20 millis", backoffCap: "100 millis", requestTimeout: "2 seconds" }

/** Notifiers for `entries` over a local broker and a memory store that knows task "backup" (handler "ops"). */
const start = (entries: ReadonlyArray<NotifierEntry>) =>
  Effect.gen(function* () {
    const services = MemoryStore.layer.pipe(Layer.provideMerge(LocalBroker.layer))
    const context = yield* Layer.build(Layer.provideMerge(Notifiers.layer(entries, fast), services))
    yield* Context.get(context, DataStore).addTask(
      Task.make({ id: TaskId.make("backup"), handler: HandlerId.make("ops"), method: "run" })
    )
    return { broker: Context.get(context, EventBroker), notifiers: Context.get(context, Notifiers.Notifiers) }
  })

const statsOf = (notifiers: Notifiers.NotifiersShape, name: string) =>
  Effect.map(notifiers.stats, (all) => all.find((stats) => stats.name === name)!)

const discord = (name: string, url: string, more: Partial<NotifierEntry> = {}): NotifierEntry =>
  ({ name, type: "discord", url, topics: ["job.released.error"], ...more }) as NotifierEntry

describe("notifiers: Discord", () => {
  it.live("posts a failure embed, honouring a 429's retry_after and retrying a 5xx", () =>
    Effect.scoped(Effect.gen(function* () {
      const answers: ReadonlyArray<Answer> = [rateLimited(0.15), { status: 503, body: { message: "busy" } }, { status: 204 }]
      const server = yield* fakeWebhookServer({ "/failures": answers })
      const { broker, notifiers } = yield* start([
        discord("failures", server.url("/failures"), { template: "{taskId} failed on attempt {attempt}: {error.message}", username: "SZ" })
      ])
      const failed = jobReleased("error")
      yield* broker.publish(failed)
      yield* until("delivered", Effect.map(statsOf(notifiers, "failures"), (stats) => stats.sent === 1))
      expect(yield* statsOf(notifiers, "failures")).toMatchObject({ sent: 1, failed: 0, retries: 2, dropped: 0 })
      const [limited, busy, ok] = server.received
      expect(busy!.atMs - limited!.atMs).toBeGreaterThanOrEqual(145)
      expect(ok!.body).toBe(limited!.body)
      const message = JSON.parse(ok!.body)
      expect(message.username).toBe("SZ")
      expect(message.allowed_mentions).toEqual({ parse: [] })
      expect(message.embeds[0]).toMatchObject({
        title: "Job failed: backup",
        description: "backup failed on attempt 2: took longer than 30s",
        color: 0xe74c3c,
        timestamp: "2026-03-01T12:00:00.000Z",
        footer: { text: "ScheduleZero · job.released.error" }
      })
      expect(message.embeds[0].fields).toContainEqual({ name: "Error", value: "Timeout: took longer than 30s", inline: false })
      expect(message.embeds[0].fields).toContainEqual({ name: "Handler", value: "ops", inline: true })
      expect(ok!.headers["content-type"]).toBe("application/json")
    })))

  it.live("waits for an exhausted rate-limit bucket to reset before the next message", () =>
    Effect.scoped(Effect.gen(function* () {
      const exhausted: Answer = { status: 204, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset-after": "0.2" } }
      const server = yield* fakeWebhookServer({ "/missed": [exhausted] })
      const { broker, notifiers } = yield* start([
        discord("missed", server.url("/missed"), { topics: ["job.released.missed_start_deadline"] })
      ])
      yield* broker.publishAll([jobReleased("missed_start_deadline"), jobReleased("missed_start_deadline")])
      yield* until("both delivered", Effect.map(statsOf(notifiers, "missed"), (stats) => stats.sent === 2))
      const [first, second] = server.received
      expect(second!.atMs - first!.atMs).toBeGreaterThanOrEqual(195)
      expect(JSON.parse(first!.body).embeds[0]).toMatchObject({ title: "Missed run: backup", color: 0xe67e22 })
    })))

  it.live("gives up on a 4xx at once and after max_attempts on 5xx, counting failures", () =>
    Effect.scoped(Effect.gen(function* () {
      const server = yield* fakeWebhookServer({
        "/gone": [{ status: 404, body: { message: "Unknown Webhook", code: 10015 } }],
        "/down": [{ status: 500 }, { status: 502 }, { status: 503 }]
      })
      const { broker, notifiers } = yield* start([
        discord("gone", server.url("/gone")),
        discord("down", server.url("/down"), { maxAttempts: 3 })
      ])
      yield* broker.publish(jobReleased("error"))
      yield* until("both given up", Effect.map(notifiers.stats, (all) => all.every((stats) => stats.failed === 1)))
      expect(yield* statsOf(notifiers, "gone")).toMatchObject({ sent: 0, failed: 1, retries: 0 })
      expect(yield* statsOf(notifiers, "down")).toMatchObject({ sent: 0, failed: 1, retries: 2 })
      expect(server.received.map((request) => request.path)).toEqual(expect.arrayContaining(["/gone", "/down", "/down", "/down"]))
      expect(server.received).toHaveLength(4)
    })))

  it.live("drops what does not fit a full queue and never holds the publisher", () =>
    Effect.scoped(Effect.gen(function* () {
      const server = yield* fakeWebhookServer({ "/slow": [{ status: 204, hang: true }] })
      const { broker, notifiers } = yield* start([
        discord("slow", server.url("/slow"), { topics: ["job."], queueSize: 2, maxAttempts: 1 })
      ])
      yield* broker.publish(jobAdded())
      yield* until("the first request hangs on the server", Effect.sync(() => server.received.length === 1))
      for (let i = 0; i < 10; i++) yield* broker.publish(jobAdded())
      yield* until("queue full, the rest dropped", Effect.map(statsOf(notifiers, "slow"), (s) => s.queued === 2 && s.dropped === 8))
    })))
})

describe("notifiers: rules and webhooks", () => {
  it.live("matches by topic, task, handler and outcome; skips retried attempts and peer events", () =>
    Effect.scoped(Effect.gen(function* () {
      const server = yield* fakeWebhookServer({})
      const { broker, notifiers } = yield* start([
        discord("ops-errors", server.url("/ops"), { topics: ["job.released."], handlers: ["ops"], outcomes: ["error"] }),
        discord("other-task", server.url("/other"), { tasks: ["reports"] }),
        discord("retries", server.url("/retries"), { includeRetries: true, template: "retry {willRetry}" })
      ])
      const fromPeer = jobReleased("error")
      markFromPeer(fromPeer)
      yield* broker.publishAll([fromPeer, jobReleased("success"), jobReleased("error", true), jobReleased("error")])
      yield* until("ops-errors and retries delivered", Effect.map(notifiers.stats, (all) =>
        all.find((s) => s.name === "ops-errors")!.sent === 1 && all.find((s) => s.name === "retries")!.sent === 2))
      expect(server.received.filter((r) => r.path === "/ops")).toHaveLength(1)
      expect(server.received.filter((r) => r.path === "/other")).toHaveLength(0)
      const retries = server.received.filter((r) => r.path === "/retries").map((r) => JSON.parse(r.body).embeds[0].description)
      expect(retries).toEqual(["retry true", "retry false"])
    })))

  it.live("sends handler offline/online and schedule paused embeds, matching handler rules by the event's own handler id", () =>
    Effect.scoped(Effect.gen(function* () {
      const server = yield* fakeWebhookServer({})
      const { broker, notifiers } = yield* start([
        discord("mailer", server.url("/mailer"), { topics: ["handler."], handlers: ["mailer"] }),
        discord("pauses", server.url("/pauses"), { topics: ["schedule.paused"] })
      ])
      const handlerEvents = everyKind.filter((event) => event._tag === "HandlerOffline" || event._tag === "HandlerOnline")
      const elsewhere = new HandlerOffline({ ...(handlerEvents[1] as HandlerOffline), handlerId: HandlerId.make("printer") })
      yield* broker.publishAll([...handlerEvents, elsewhere, ...everyKind.filter((event) => event._tag === "SchedulePaused")])
      yield* until("delivered", Effect.map(notifiers.stats, (all) =>
        all.find((s) => s.name === "mailer")!.sent === 2 && all.find((s) => s.name === "pauses")!.sent === 1))
      const embeds = (path: string) => server.received.filter((r) => r.path === path).map((r) => JSON.parse(r.body).embeds[0])
      const [online, offline] = embeds("/mailer")
      expect(online).toMatchObject({ title: "Handler online: mailer", color: 0x2ecc71 })
      expect(offline).toMatchObject({
        title: "Handler offline: mailer",
        color: 0xe74c3c,
        description: "Handler mailer: instance mailer-1 went offline (heartbeat_lost); 0 instance(s) online"
      })
      expect(offline.fields).toContainEqual({ name: "Instances online", value: "0", inline: true })
      expect(embeds("/pauses")).toEqual([
        expect.objectContaining({ title: "Schedule paused: nightly", description: "Schedule nightly of task backup paused" })
      ])
    })))

  it.live("signs the generic webhook's JSON body with HMAC-SHA256", () =>
    Effect.scoped(Effect.gen(function* () {
      const server = yield* fakeWebhookServer({ "/hook": [{ status: 500 }, { status: 200 }] })
      const { broker, notifiers } = yield* start([
        { name: "hook", type: "webhook", url: server.url("/hook"), secret: "s3cret", topics: ["job.released.error"] }
      ])
      const failed = jobReleased("error")
      yield* broker.publish(failed)
      yield* until("delivered", Effect.map(statsOf(notifiers, "hook"), (stats) => stats.sent === 1))
      const request = server.received[1]!
      const expected = `sha256=${createHmac("sha256", "s3cret").update(request.body).digest("hex")}`
      expect(request.headers["x-schedulezero-signature"]).toBe(expected)
      expect(request.headers["x-schedulezero-topic"]).toBe("job.released.error")
      const body = JSON.parse(request.body)
      expect(body).toMatchObject({ topic: "job.released.error", event: { _tag: "JobReleased", jobId: failed.jobId } })
      expect(body.message).toBe(`Job ${failed.jobId} of task backup: error (attempt 2) Timeout: took longer than 30s`)
    })))
})
