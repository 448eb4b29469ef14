/**
 * One scheduler process of the PostgreSQL bench scenarios:
 *   node dist/bench/scenarios/schedulerProcessPostgres.js <url> <schema> <schedulerId> <out-file>
 * The scheduler runs on the postgres store and broker with a no-op handler
 * "bench.run". Every call is written to <out-file> as `<scheduleId>@<fire ms> <lateness ms>`
 * (lateness = handler call, wall clock, minus the scheduled fire time; one-off jobs
 * write `-`), flushed every 200 ms and when the process stops. "ready" on stdout
 * once the scheduler runs; SIGTERM stops it gracefully. The number of statements sent to
 * PostgreSQL so far is kept in <out-file>.stats, written with each flush (the bench's
 * statements per fire). With SZ_BENCH_STATEMENT_KINDS set, <out-file>.kinds holds the
 * statements so far by kind (the text's first words) as JSON, with their round trips' total ms.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { appendFileSync, renameSync, writeFileSync } from "node:fs"
import pg from "pg"
import * as PostgresBroker from "../../components/broker/Postgres.js"
import * as PostgresStore from "../../components/datastore/Postgres.js"
import * as LocalRegistry from "../../components/registry/Local.js"
import * as Scheduler from "../../services/scheduler/layer.js"
import { wallClockMs } from "../measure.js"

const [url = "", schema = "", schedulerId = "", outFile = ""] = process.argv.slice(2)

// Every statement goes through a pg.Client (the pool's connections and the broker's LISTEN one).
let statements = 0
const byKind = process.env.SZ_BENCH_STATEMENT_KINDS === undefined ? undefined : new Map<string, { n: number; ms: number }>()
const kindOf = (text: unknown) =>
  String(typeof text === "object" && text !== null && "text" in text ? text.text : text)
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 60)
const query = pg.Client.prototype.query as (...args: Array<unknown>) => unknown
pg.Client.prototype.query = function (this: pg.Client, ...args: Array<unknown>) {
  statements++
  if (byKind === undefined) return query.apply(this, args)
  const kind = kindOf(args[0])
  const entry = byKind.get(kind) ?? { n: 0, ms: 0 }
  byKind.set(kind, entry)
  entry.n++
  const start = performance.now()
  const last = args.at(-1)
  if (typeof last === "function") {
    args[args.length - 1] = (...result: Array<unknown>) => {
      entry.ms += performance.now() - start
      return last(...result)
    }
    return query.apply(this, args)
  }
  const returned = query.apply(this, args)
  if (returned instanceof Promise) void returned.finally(() => (entry.ms += performance.now() - start)).catch(() => undefined)
  return returned
} as typeof pg.Client.prototype.query

/** Writes `text` as the file's whole content at once: the bench reads it meanwhile, and must never see it half written (or empty). */
const replaceFile = (file: string, text: string) => {
  writeFileSync(`${file}.tmp`, text)
  renameSync(`${file}.tmp`, file)
}

let pending: Array<string> = []
const flush = () => {
  replaceFile(`${outFile}.stats`, `${statements}\n`)
  if (byKind !== undefined) replaceFile(`${outFile}.kinds`, JSON.stringify(Object.fromEntries(byKind)))
  if (pending.length === 0) return
  appendFileSync(outFile, pending.join("\n") + "\n")
  pending = []
}

const bench = LocalRegistry.defineLocalHandler({
  id: "bench",
  methods: {
    run: ({ job }) => {
      const fire = job.scheduledFireTime
      pending.push(fire === null ? "-" : `${job.scheduleId}@${fire.getTime()} ${wallClockMs() - fire.getTime()}`)
      return null
    }
  }
})

const options = { url, schema, maxConnections: 4 }
const scheduler = Scheduler.layer({
  id: schedulerId,
  maxConcurrentJobs: 1_000,
  jobBatchSize: 1_000,
  scheduleBatchSize: 500
}).pipe(
  Layer.provide(PostgresStore.layer(options)),
  Layer.provide(LocalRegistry.layer([bench])),
  Layer.provide(PostgresBroker.layer(options))
)

const flushing = Layer.scopedDiscard(
  Effect.acquireRelease(
    Effect.sync(() => setInterval(flush, 200)),
    (timer) =>
      Effect.sync(() => {
        clearInterval(timer)
        flush()
      })
  )
)

const announce = Layer.effectDiscard(Effect.sync(() => process.stdout.write("ready\n")))

NodeRuntime.runMain(
  Layer.launch(Layer.provide(announce, Layer.merge(scheduler, flushing))).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))
)
