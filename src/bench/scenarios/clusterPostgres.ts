/**
 * What the PostgreSQL bench scenarios share: a database of their own on the
 * server at SZ_BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres),
 * dropped afterwards; the store and broker on it in this process (to load
 * tasks, jobs and schedules as a producer would); and scheduler processes
 * (schedulerProcessPostgres.js) that run the jobs.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, Layer, type Scope } from "effect"
import pg from "pg"
import * as PostgresBroker from "../../components/broker/Postgres.js"
import * as PostgresStore from "../../components/datastore/Postgres.js"
import type { DataStore } from "../../services/DataStore.js"
import type { ExecutionLog } from "../../services/ExecutionLog.js"
import type { EventBroker } from "../../services/EventBroker.js"
import { processCpuSeconds } from "./startup.js"

const serverUrl = process.env.SZ_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const processScript = fileURLToPath(new URL("./schedulerProcessPostgres.js", import.meta.url))
export const benchSchema = "bench"
/** Node options for the scheduler processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them. */
const nodeArgs = process.env.SZ_BENCH_SCHEDULER_NODE_ARGS?.split(" ").filter((arg) => arg !== "") ?? []

const admin = (statement: string) =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: serverUrl })
    await client.connect()
    try {
      await client.query(statement)
    } finally {
      await client.end()
    }
  })

/** A new database, dropped with the scope; its URL. */
export const benchDatabase: Effect.Effect<string, never, Scope.Scope> = Effect.gen(function* () {
  const name = `sz_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  yield* Effect.acquireRelease(admin(`CREATE DATABASE ${name}`), () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
})

/** The store (with its execution log) and the postgres broker on `url`, in this process. */
export const producerLayer = (url: string): Layer.Layer<DataStore | ExecutionLog | EventBroker, PostgresStore.PostgresRefused> => {
  const options = { url, schema: benchSchema }
  return Layer.provideMerge(PostgresStore.layer(options), PostgresBroker.layer(options))
}

export interface SchedulerProcess {
  readonly child: ChildProcess
  /** Lines the process wrote to its out-file (handler calls). */
  readonly calls: () => ReadonlyArray<string>
  /** Statements the process has sent to PostgreSQL, as of its last flush (every 200 ms). */
  readonly statements: () => number
  /** Its statements by kind with their round trips' ms, with SZ_BENCH_STATEMENT_KINDS set (see schedulerProcessPostgres.ts). */
  readonly kinds: () => StatementKinds
}

export type StatementKinds = Readonly<Record<string, { readonly n: number; readonly ms: number }>>

/** Statements by kind sent between two sets of kinds() snapshots, summed over processes and divided by `per`, most first. */
export const kindsBetween = (
  from: ReadonlyArray<StatementKinds>,
  to: ReadonlyArray<StatementKinds>,
  per: number
): Array<string> => {
  const sum = new Map<string, { n: number; ms: number }>()
  to.forEach((kinds, i) => {
    for (const [kind, { ms, n }] of Object.entries(kinds)) {
      const before = from[i]?.[kind]
      const entry = sum.get(kind) ?? { n: 0, ms: 0 }
      entry.n += n - (before?.n ?? 0)
      entry.ms += ms - (before?.ms ?? 0)
      sum.set(kind, entry)
    }
  })
  return [...sum].filter(([, { n }]) => n > 0).sort(([, a], [, b]) => b.n - a.n).map(([kind, { ms, n }]) =>
    `${(n / per).toFixed(4)}/fire ${(ms / n).toFixed(2)} ms  ${kind}`
  )
}

/** Starts `count` scheduler processes on `url` and waits until each says it runs; stopped (SIGTERM, awaited) with the scope. */
export const startSchedulers = (url: string, count: number): Effect.Effect<ReadonlyArray<SchedulerProcess>, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "sz-bench-pg-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    )
    return yield* Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) => {
        const outFile = path.join(dir, `calls-${i}.txt`)
        return Effect.acquireRelease(
          Effect.async<SchedulerProcess, Error>((resume) => {
            const child = spawn(process.execPath, [...nodeArgs, processScript, url, benchSchema, `bench-${i}`, outFile], {
              stdio: ["ignore", "pipe", "inherit"]
            })
            const process_: SchedulerProcess = {
              child,
              calls: () => (fs.existsSync(outFile) ? fs.readFileSync(outFile, "utf8").split("\n").filter((l) => l !== "") : []),
              statements: () => (fs.existsSync(`${outFile}.stats`) ? Number(fs.readFileSync(`${outFile}.stats`, "utf8")) : 0),
              kinds: () =>
                fs.existsSync(`${outFile}.kinds`) ? JSON.parse(fs.readFileSync(`${outFile}.kinds`, "utf8")) as StatementKinds : {}
            }
            let output = ""
            child.stdout?.on("data", (chunk) => {
              output += chunk
              if (output.includes("ready\n")) resume(Effect.succeed(process_))
            })
            child.on("exit", (code) => resume(Effect.fail(new Error(`scheduler process ${i} exited (${code}) before it ran`))))
          }),
          ({ child }) =>
            Effect.async<void>((resume) => {
              if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
              child.on("exit", () => resume(Effect.void))
              child.kill("SIGTERM")
            })
        )
      },
      { concurrency: "unbounded" }
    )
  })

/** CPU seconds of a process, 0 once it is gone. */
const cpuSecondsOr0 = (pid: number) => Effect.catchAllDefect(processCpuSeconds(pid), () => Effect.succeed(0))

/**
 * CPU seconds so far of each scheduler process and each PostgreSQL backend serving the
 * database at `url` (its process title names the database), by pid.
 */
export const clusterCpu = (
  url: string,
  processes: ReadonlyArray<SchedulerProcess>
): Effect.Effect<ReadonlyMap<number, number>> =>
  Effect.gen(function* () {
    const database = new URL(url).pathname.slice(1)
    const backends = fs.readdirSync("/proc").filter((entry) => {
      if (!/^\d+$/.test(entry)) return false
      try {
        // "postgres: [<cluster>: ]<user> <database> <client> <state>"
        const title = fs.readFileSync(`/proc/${entry}/cmdline`, "latin1")
        return title.startsWith("postgres: ") && title.includes(` ${database} `)
      } catch {
        return false
      }
    })
    const pids = [...processes.flatMap(({ child }) => (child.pid === undefined ? [] : [child.pid])), ...backends.map(Number)]
    return new Map(yield* Effect.forEach(pids, (pid) => Effect.map(cpuSecondsOr0(pid), (s) => [pid, s] as const)))
  })

/**
 * CPU seconds used between two clusterCpu snapshots (a process that appeared meanwhile counts
 * whole), of the pids `only` lets through (all by default).
 */
export const cpuSecondsBetween = (
  from: ReadonlyMap<number, number>,
  to: ReadonlyMap<number, number>,
  only: (pid: number) => boolean = () => true
): number => {
  let total = 0
  for (const [pid, seconds] of to) if (only(pid)) total += seconds - (from.get(pid) ?? 0)
  return total
}
