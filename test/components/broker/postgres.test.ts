/**
 * The postgres broker between two brokers on one database (as two scheduler
 * processes would have): events cross over by NOTIFY, large ones through the
 * table, in order, never echoed back; a broken LISTEN connection is reopened.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Stream } from "effect"
import pg from "pg"
import * as PostgresBroker from "../../../src/components/broker/Postgres.js"
import { JobAcquired, JobReleased, type SchedulerEvent, SchedulerStarted } from "../../../src/domain/events.js"
import { JobId, SchedulerId, TaskId } from "../../../src/domain/ids.js"
import { JobError } from "../../../src/domain/JobResult.js"
import { EventBroker } from "../../../src/services/EventBroker.js"
import { useTestDatabase } from "../datastore/postgres/testDatabase.js"

const database = useTestDatabase("sz_broker")

const brokerOn = (schema: string) =>
  Layer.build(PostgresBroker.layer({ url: database.url(), schema })).pipe(
    Effect.map((context) => context.unsafeMap.get(EventBroker.key) as EventBroker["Type"])
  )

/** A JobAcquired (an event that only informs, held back by the sender) of job number `n` (0-9). */
const acquired = (n: number) =>
  new JobAcquired({
    timestamp: new Date(n),
    jobId: JobId.make(`00000000-0000-4000-8000-00000000000${n}`),
    taskId: TaskId.make("task"),
    scheduleId: null,
    schedulerId: SchedulerId.make("a"),
    attempt: 1
  })

const started = (n: number) => new SchedulerStarted({ timestamp: new Date(n), schedulerId: SchedulerId.make(`s-${n}`) })

const take = (stream: Stream.Stream<SchedulerEvent>, n: number) =>
  stream.pipe(
    Stream.take(n),
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray),
    Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`fewer than ${n} events arrived`) })
  )

describe("postgres EventBroker", () => {
  it("packs events in order into payloads within NOTIFY's limit, counting bytes, not characters", () => {
    const events = Array.from({ length: 300 }, (_, i) => JSON.stringify({ n: i, text: "é".repeat(i * 10) }))
    events.splice(150, 0, JSON.stringify({ text: "x".repeat(8_000) }))
    const parts = PostgresBroker.pack("origin", events)
    const unpacked = parts.flatMap((part) =>
      part._tag === "Oversized" ? [part.event] : (JSON.parse(part.payload).e as Array<unknown>).map((e) => JSON.stringify(e))
    )
    expect(unpacked).toEqual(events)
    expect(parts.filter((part) => part._tag === "Oversized").length).toBe(1)
    for (const part of parts) {
      if (part._tag === "Batch") expect(Buffer.byteLength(part.payload)).toBeLessThanOrEqual(PostgresBroker.maxPayloadBytes)
    }
  })


  it.live("events published by one broker reach the other's subscribers in order, and not the publisher twice", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const a = yield* brokerOn("one")
        const b = yield* brokerOn("one")
        const atA = yield* a.subscribe()
        const atB = yield* b.subscribe()
        const events = Array.from({ length: 2_000 }, (_, i) => started(i))
        yield* a.publishAll(events.slice(0, 1_000))
        for (const event of events.slice(1_000)) yield* a.publish(event)
        expect(yield* take(atB, 2_000)).toEqual(events)
        // The publisher's own subscribers got each event once, locally; then the marker from B.
        yield* b.publish(started(-1))
        expect(yield* take(atA, 2_001)).toEqual([...events, started(-1)])
      })
    ), 60_000)

  it.live("events that only inform (held back for company) still reach the other broker, and the publisher's subscribers once", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const a = yield* brokerOn("informs")
        const b = yield* brokerOn("informs")
        const atA = yield* a.subscribe()
        const atB = yield* b.subscribe()
        const events = [acquired(0), acquired(1), acquired(2)]
        yield* a.publishAll(events.slice(0, 2))
        yield* a.publish(events[2]!)
        expect(yield* take(atB, 3)).toEqual(events)
        // A's own notification came back to it too: skipped, so the marker from B follows directly.
        yield* b.publish(started(-1))
        expect(yield* take(atA, 4)).toEqual([...events, started(-1)])
      })
    ), 60_000)

  it.live("events held back when the publishing broker closes are sent as it closes", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const b = yield* brokerOn("closing")
        const atB = yield* b.subscribe()
        // Published, then the broker closes at once, within the time it holds such an event back.
        yield* Effect.scoped(Effect.flatMap(brokerOn("closing"), (a) => a.publish(acquired(9))))
        expect(yield* take(atB, 1)).toEqual([acquired(9)])
      })
    ), 60_000)

  it.live("an event larger than a NOTIFY payload travels through the table", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const a = yield* brokerOn("two")
        const b = yield* brokerOn("two")
        const atB = yield* b.subscribe()
        const big = new JobReleased({
          timestamp: new Date(5),
          jobId: JobId.make("00000000-0000-4000-8000-000000000001"),
          taskId: TaskId.make("task"),
          scheduleId: null,
          schedulerId: SchedulerId.make("a"),
          attempt: 1,
          outcome: "error",
          willRetry: false,
          scheduledFireTime: null,
          startedAt: new Date(1),
          finishedAt: new Date(5),
          error: new JobError({ tag: "Boom", message: "é".repeat(20_000) })
        })
        yield* a.publishAll([started(1), big, started(2)])
        expect(yield* take(atB, 3)).toEqual([started(1), big, started(2)])
      })
    ), 60_000)

  it.live("brokers on another schema do not hear each other", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const a = yield* brokerOn("three")
        const other = yield* brokerOn("four")
        const b = yield* brokerOn("three")
        const atOther = yield* other.subscribe()
        const atB = yield* b.subscribe()
        yield* a.publish(started(1))
        expect(yield* take(atB, 1)).toEqual([started(1)])
        yield* other.publish(started(2))
        expect(yield* take(atOther, 1)).toEqual([started(2)])
      })
    ), 60_000)

  it.live("a LISTEN connection the server closes is opened again", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const a = yield* brokerOn("five")
        const b = yield* brokerOn("five")
        const atB = yield* b.subscribe()
        yield* a.publish(started(1))
        expect(yield* take(atB, 1)).toEqual([started(1)])
        const terminated = yield* Effect.promise(async () => {
          const admin = new pg.Client({ connectionString: database.url() })
          await admin.connect()
          const { rowCount } = await admin.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'schedulezero-broker-listen' AND datname = current_database()"
          )
          await admin.end()
          return rowCount
        })
        expect(terminated).toBe(2)
        // Until B listens again a notification may be missed: publish until one arrives.
        const arrived = yield* a.publish(started(2)).pipe(
          Effect.zipRight(take(atB, 1).pipe(Effect.timeout("500 millis"))),
          Effect.retry({ times: 40 })
        )
        expect(arrived).toEqual([started(2)])
      })
    ), 60_000)
})
