/**
 * local-throughput-postgres: 100,000 one-off no-op jobs on the postgres store,
 * run by 1 and then 3 scheduler processes (each on a fresh database). This
 * process enqueues them with addJobs in batches of 1,000 (as a producer would;
 * its broker's NOTIFY wakes the schedulers) and measures from the first
 * addJobs to the moment the store holds no job any more: jobs_per_s_1 and
 * jobs_per_s_3.
 */
import { Context, Effect, Layer } from "effect"
import pg from "pg"
import { HandlerId, JobId, TaskId } from "../../domain/ids.js"
import { Job } from "../../domain/Job.js"
import { Task } from "../../domain/Task.js"
import { DataStore } from "../../services/DataStore.js"
import { monotonicMs } from "../measure.js"
import type { Metrics } from "../report.js"
import { benchDatabase, benchSchema, producerLayer, startSchedulers } from "./clusterPostgres.js"

const jobCount = 100_000
const enqueueBatch = 1_000
/** Past this, the run stops and reports how far it got. */
const budgetMs = 150_000

/** Jobs left in the store (one count query; decoding 100,000 jobs to count them would be the bottleneck). */
const jobsLeft = (url: string) =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${benchSchema}.jobs`)
      return Number(rows[0]?.n ?? 0)
    } finally {
      await client.end()
    }
  })

const runWith = (schedulers: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const url = yield* benchDatabase
      const store = Context.get(yield* Layer.build(producerLayer(url)), DataStore)
      yield* store.addTask(Task.make({ id: TaskId.make("bench"), handler: HandlerId.make("bench"), method: "run", maxRunningJobs: null }))
      yield* startSchedulers(url, schedulers)
      const createdAt = new Date()
      const jobs = Array.from({ length: jobCount }, () => Job.make({ id: JobId.make(crypto.randomUUID()), taskId: TaskId.make("bench"), createdAt }))
      const start = monotonicMs()
      for (let i = 0; i < jobCount; i += enqueueBatch) yield* store.addJobs(jobs.slice(i, i + enqueueBatch))
      const enqueued = monotonicMs()
      for (;;) {
        const left = yield* jobsLeft(url)
        if (left === 0) break
        if (monotonicMs() - start > budgetMs) {
          return yield* Effect.dieMessage(
            `stopped after ${Math.round(budgetMs / 1000)} s with ${schedulers} scheduler(s): ${jobCount - left} of ${jobCount} jobs done`
          )
        }
        yield* Effect.sleep("100 millis")
      }
      const elapsedS = (monotonicMs() - start) / 1000
      return { jobsPerS: jobCount / elapsedS, enqueueS: (enqueued - start) / 1000, elapsedS }
    })
  )

export const localThroughputPostgres = (): Effect.Effect<Metrics, unknown> =>
  Effect.gen(function* () {
    const one = yield* runWith(1)
    const three = yield* runWith(3)
    return {
      jobs: jobCount,
      jobs_per_s_1: one.jobsPerS,
      jobs_per_s_3: three.jobsPerS,
      enqueue_s_1: one.enqueueS,
      enqueue_s_3: three.enqueueS,
      elapsed_s_1: one.elapsedS,
      elapsed_s_3: three.elapsedS
    }
  })
