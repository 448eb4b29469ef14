/**
 * The benchmark scenarios as data: names, what they measure, their bars and
 * how long each may take. The parent process only needs this; the scenario
 * code itself runs in a child process (see child.ts).
 */
import type { Bars } from "./report.js"

export const StoreKinds = ["memory", "sqlite"] as const
export type StoreKind = (typeof StoreKinds)[number]

export interface ScenarioInfo {
  readonly name: string
  readonly description: string
  readonly bars: Bars
  /** "choice" = runs on the store given by --store; a kind = always that store; null = uses no store. */
  readonly store: "choice" | StoreKind | null
  /** The child process is killed after this long. */
  readonly timeoutMs: number
}

export const catalog: ReadonlyArray<ScenarioInfo> = [
  {
    name: "local-throughput-memory",
    description: "100,000 one-off no-op jobs, memory store, local handler; enqueue start to last result",
    bars: { jobs_per_s: { op: ">=", value: 50_000 } },
    store: "memory",
    timeoutMs: 60_000
  },
  {
    name: "local-throughput-sqlite",
    description:
      "100,000 one-off no-op jobs, SQLite file store (synchronous NORMAL, then FULL as jobs_per_s_full), local handler",
    bars: { jobs_per_s: { op: ">=", value: 20_000 } },
    store: "sqlite",
    timeoutMs: 240_000
  },
  {
    name: "local-throughput-postgres",
    description:
      "100,000 one-off no-op jobs on PostgreSQL (SZ_BENCH_PG_URL, own database), run by 1 then 3 scheduler processes; enqueue start to store empty",
    bars: { jobs_per_s_1: { op: ">=", value: 10_000 } },
    store: null,
    timeoutMs: 420_000
  },
  {
    name: "cluster-lateness",
    description:
      "3 scheduler processes on PostgreSQL, 1,000 interval schedules every 1 s (starts spread over 1 s) for 30 s; lateness in whichever process ran the job",
    bars: {
      lateness_p99_ms: { op: "<=", value: 20 },
      duplicates: { op: "<=", value: 0 },
      missed: { op: "<=", value: 0 }
    },
    store: null,
    timeoutMs: 180_000
  },
  {
    name: "fire-lateness",
    description: "1,000 interval schedules every 1 s, starts spread over 1 s, run for 20 s, no-op handler",
    bars: {
      lateness_p99_ms: { op: "<=", value: 5 },
      missed: { op: "<=", value: 0 },
      duplicates: { op: "<=", value: 0 }
    },
    store: "choice",
    timeoutMs: 60_000
  },
  {
    name: "burst",
    description: "1,000 date schedules due at the same instant; due instant to the last job's start",
    bars: { burst_last_start_ms: { op: "<=", value: 50 }, missed: { op: "<=", value: 0 } },
    store: "choice",
    timeoutMs: 30_000
  },
  {
    name: "idle-100k",
    description: "100,000 cron schedules due in an hour; CPU and memory over 30 s of idling after loading",
    bars: { cpu_s_idle: { op: "<=", value: 0.3 }, rss_mb: { op: "<=", value: 250 } },
    store: "choice",
    timeoutMs: 240_000
  },
  {
    name: "remote-throughput",
    description:
      "100,000 one-off no-op jobs to handler processes over ZeroMQ: 1 process then 4 (memory store), 1 process on SQLite",
    bars: { jobs_per_s_1: { op: ">=", value: 30_000 } },
    store: "memory",
    timeoutMs: 600_000
  },
  {
    name: "remote-latency",
    description: "one job at a time to one handler process over ZeroMQ; runJob to result in hand (memory store)",
    bars: { rtt_p50_us: { op: "<=", value: 250 }, rtt_p99_us: { op: "<=", value: 1_000 } },
    store: "memory",
    timeoutMs: 120_000
  },
  {
    name: "api-list",
    description:
      "10,000 cron schedules in the SQLite store; GET /api/schedules?limit=100 from a second process (8 loops, 5 s); server and client CPU-ms per request",
    bars: { p99_ms: { op: "<=", value: 20 } },
    store: "sqlite",
    timeoutMs: 240_000
  },
  {
    name: "event-stream",
    description:
      "100,000 events over the zmq broker to one subscriber process; local-throughput-memory with a stalled subscriber vs none (medians of 3)",
    bars: { events_per_s: { op: ">=", value: 100_000 }, stalled_vs_no_subscriber: { op: ">=", value: 0.9 } },
    store: "memory",
    timeoutMs: 300_000
  },
  {
    name: "startup",
    description:
      "node dist/main.js on a fresh minimal deployment (SQLite, portal port 0): spawn to /api/health 200; median of 5 starts",
    bars: { startup_ms: { op: "<=", value: 400 } },
    store: "sqlite",
    timeoutMs: 120_000
  },
  {
    name: "edge-idle",
    description: "node dist/main.js in autonomous mode (SQLite, 100 interval schedules, none due): CPU and RSS over 30 s idle",
    bars: { rss_mb: { op: "<=", value: 70 }, cpu_s_idle: { op: "<=", value: 0.2 } },
    store: "sqlite",
    timeoutMs: 120_000
  },
  {
    name: "edge-idle-upstream",
    description:
      "edge-idle with an upstream section whose server is unreachable (the upstream retrying in the background): CPU and RSS over 30 s idle",
    bars: { rss_mb: { op: "<=", value: 70 }, cpu_s_idle: { op: "<=", value: 0.2 } },
    store: "sqlite",
    timeoutMs: 120_000
  },
  {
    name: "edge-sync",
    description:
      "an edge's SQLite outbox holds 10,000 executions while its server is down; the server's edge hub comes up: time until the server's log holds them all",
    bars: { rows_per_s: { op: ">=", value: 5_000 } },
    store: "sqlite",
    timeoutMs: 120_000
  },
  {
    name: "cron-next",
    description: "next 1,000 fire times of '*/5 * * * * *' and '0 30 2 * * *' (Europe/Stockholm), ours vs croner",
    bars: {},
    store: null,
    timeoutMs: 60_000
  }
]

export const findScenario = (name: string): ScenarioInfo | undefined => catalog.find((s) => s.name === name)

/** The store a scenario runs on, given the --store choice. */
export const storeFor = (info: ScenarioInfo, choice: StoreKind): StoreKind | null =>
  info.store === "choice" ? choice : info.store
