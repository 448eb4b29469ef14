/**
 * The shape of `deployments/<name>/config.yaml`. YAML keys are snake_case;
 * the decoded config is camelCase. Every section is optional and every key has
 * a default, so an empty file is a valid minimal deployment. Unknown keys are
 * rejected by the loader (see load.ts), never ignored.
 */
import { Schema } from "effect"
import { TriggerSpec } from "../domain/triggers/spec.js"
import {
  ConfigDuration,
  containing,
  expecting,
  Flag,
  List,
  ListOf,
  Mapping,
  NonEmptyText,
  NullableDuration,
  NullablePositiveDuration,
  NullablePositiveInt,
  oneOf,
  optionalKey,
  PositiveDuration,
  PositiveInt
} from "./fields.js"
import { EdgesSection, noEdges } from "./sections/edges.js"
import { EventsSection, noEvents } from "./sections/events.js"
import { GovernorSection } from "./sections/governor.js"
import { PostgresStore } from "./sections/postgresStore.js"
import { RemoteHandlersSection } from "./sections/remoteHandlers.js"
import { UpstreamSection } from "./sections/upstream.js"

export const modeNames = ["minimal", "full", "autonomous"] as const
export const ModeName = oneOf(...modeNames)
export type ModeName = typeof ModeName.Type

/**
 * Tuning of the scheduler (see src/services/scheduler/SchedulerOptions.ts).
 * A key left out takes the scheduler's own default, so there is one source of
 * defaults.
 */
export const SchedulerSection = Schema.Struct({
  /** Identity of this scheduler (the lease owner). Default: `<hostname>-<pid>-<random>`. */
  id: Schema.optionalWith(NonEmptyText, { exact: true }),
  maxConcurrentJobs: optionalKey("max_concurrent_jobs", PositiveInt),
  scheduleBatchSize: optionalKey("schedule_batch_size", PositiveInt),
  jobBatchSize: optionalKey("job_batch_size", PositiveInt),
  releaseBatchSize: optionalKey("release_batch_size", PositiveInt),
  leaseDuration: optionalKey("lease_duration", PositiveDuration),
  stopGracePeriod: optionalKey("stop_grace_period", ConfigDuration),
  /** null = never clean up automatically. */
  cleanupInterval: optionalKey("cleanup_interval", NullablePositiveDuration)
}).pipe(containing("a mapping"))
export type SchedulerSection = typeof SchedulerSection.Type

/** Keeps everything in process memory: nothing survives a restart. */
export const MemoryStore = Schema.Struct({ type: Schema.Literal("memory") }).pipe(containing("a mapping"))

/** One SQLite file (created, with its directory, when absent; migrated in place). */
export const SqliteStore = Schema.Struct({
  type: Schema.Literal("sqlite"),
  /** Relative to the deployment directory. */
  path: Schema.optionalWith(NonEmptyText, { exact: true, default: () => "data/schedulezero.db" }),
  synchronous: Schema.optionalWith(oneOf("normal", "full"), { exact: true }),
  busyTimeout: optionalKey("busy_timeout", ConfigDuration),
  executionLog: optionalKey(
    "execution_log",
    Schema.Struct({
      /** Newest rows kept; null = no bound. */
      maxRows: optionalKey("max_rows", NullablePositiveInt),
      /** Age beyond which rows are deleted; null = no bound. */
      maxAge: optionalKey("max_age", NullablePositiveDuration)
    }).pipe(containing("a mapping"))
  )
}).pipe(containing("a mapping"))

/** Which data store a deployment uses, told apart by `type` (postgres: sections/postgresStore.ts). */
export const StoreSection = Schema.Union(MemoryStore, SqliteStore, PostgresStore).pipe(
  containing("a mapping with type memory, sqlite or postgres")
)
export type StoreSection = typeof StoreSection.Type

export const HandlersSection = Schema.Struct({
  /** Module paths (relative to the deployment directory) whose exports are local handler definitions. */
  local: Schema.optionalWith(ListOf(NonEmptyText), { exact: true, default: () => [] }),
  /** The ZeroMQ registry remote handler processes connect to (full mode); see sections/remoteHandlers.ts. */
  remote: Schema.optionalWith(RemoteHandlersSection, { exact: true, default: () => RemoteHandlersSection.make({}) })
}).pipe(containing("a mapping"))

export const RetrySection = Schema.Struct({
  maxAttempts: optionalKey("max_attempts", PositiveInt),
  backoffBase: optionalKey("backoff_base", ConfigDuration),
  backoffCap: optionalKey("backoff_cap", ConfigDuration),
  jitter: Schema.optionalWith(Flag, { exact: true })
}).pipe(containing("a mapping"))

export const TaskEntry = Schema.Struct({
  id: NonEmptyText,
  handler: NonEmptyText,
  method: NonEmptyText,
  /** null = unlimited. */
  maxRunningJobs: optionalKey("max_running_jobs", NullablePositiveInt),
  /** null = no limit on how late a job may start. */
  misfireGraceTime: optionalKey("misfire_grace_time", NullableDuration),
  /** Per-attempt timeout; null = none. */
  timeout: Schema.optionalWith(NullableDuration, { exact: true }),
  retry: Schema.optionalWith(RetrySection, { exact: true }),
  metadata: Schema.optionalWith(Mapping, { exact: true })
}).pipe(containing("a mapping"))
export type TaskEntry = typeof TaskEntry.Type

export const ScheduleEntry = Schema.Struct({
  id: NonEmptyText,
  task: NonEmptyText,
  /**
   * Which fire times: the same trigger specification the CLI (`triggers next --json`)
   * and the HTTP API take, e.g. `{ type: cron, expr: "0 9 * * mon-fri", timezone: UTC }`.
   * Validated when the config is loaded (see scheduleTriggers.ts).
   */
  trigger: TriggerSpec.pipe(
    containing("a trigger mapping with a type (cron, interval, date, calendarinterval, and, or)")
  ),
  args: Schema.optionalWith(List, { exact: true }),
  kwargs: Schema.optionalWith(Mapping, { exact: true }),
  paused: Schema.optionalWith(Flag, { exact: true }),
  coalesce: Schema.optionalWith(oneOf("earliest", "latest", "all"), { exact: true }),
  misfireGraceTime: optionalKey("misfire_grace_time", NullableDuration),
  maxJitter: optionalKey("max_jitter", NullableDuration),
  jobResultExpirationTime: optionalKey("job_result_expiration_time", ConfigDuration),
  metadata: Schema.optionalWith(Mapping, { exact: true })
}).pipe(containing("a mapping"))
export type ScheduleEntry = typeof ScheduleEntry.Type

/** An API token: the portal stores only its SHA-256 (create one with `tokens create`, when that command exists). */
export const PortalToken = Schema.Struct({
  name: NonEmptyText,
  role: oneOf("viewer", "admin"),
  sha256: Schema.String.pipe(
    Schema.pattern(/^[0-9a-f]{64}$/),
    expecting("the token's SHA-256 as 64 lowercase hex digits")
  )
}).pipe(containing("a mapping"))

/** The HTTP API, dashboard, metrics and event stream. */
export const PortalSection = Schema.Struct({
  /** Left out: the mode decides (on in full and minimal, off in autonomous). */
  enabled: Schema.optionalWith(Flag, { exact: true }),
  host: Schema.optionalWith(NonEmptyText, { exact: true }),
  /** 0 picks a free port (logged at start). */
  port: Schema.optionalWith(
    Schema.Int.pipe(Schema.between(0, 65_535), expecting("a port number from 0 to 65535")),
    { exact: true }
  ),
  tokens: Schema.optionalWith(ListOf(PortalToken), { exact: true }),
  corsOrigins: optionalKey("cors_origins", ListOf(NonEmptyText)),
  /** Largest request body in bytes. */
  bodyLimit: optionalKey("body_limit", PositiveInt)
}).pipe(containing("a mapping"))
export type PortalSection = typeof PortalSection.Type

export const logLevelNames = ["trace", "debug", "info", "warning", "error", "fatal", "none"] as const
export const LogLevelName = oneOf(...logLevelNames)
export type LogLevelName = typeof LogLevelName.Type
export const logFormats = ["pretty", "json"] as const
export const LogFormat = oneOf(...logFormats)
export type LogFormat = typeof LogFormat.Type

export const LoggingSection = Schema.Struct({
  level: Schema.optionalWith(LogLevelName, { exact: true, default: () => "info" as const }),
  format: Schema.optionalWith(LogFormat, { exact: true, default: () => "pretty" as const })
}).pipe(containing("a mapping"))
export type LoggingSection = typeof LoggingSection.Type

export const DeploymentConfig = Schema.Struct({
  mode: Schema.optionalWith(ModeName, { exact: true, default: () => "minimal" as const }),
  scheduler: Schema.optionalWith(SchedulerSection, { exact: true, default: () => SchedulerSection.make({}) }),
  /** Left out: the loader fills in the mode's store (see modeDefaults.ts); memory when decoded without it. */
  store: Schema.optionalWith(StoreSection, { exact: true, default: () => ({ type: "memory" as const }) }),
  handlers: Schema.optionalWith(HandlersSection, { exact: true, default: () => HandlersSection.make({}) }),
  tasks: Schema.optionalWith(ListOf(TaskEntry), { exact: true, default: () => [] }),
  schedules: Schema.optionalWith(ListOf(ScheduleEntry), { exact: true, default: () => [] }),
  portal: Schema.optionalWith(PortalSection, { exact: true, default: () => PortalSection.make({}) }),
  logging: Schema.optionalWith(LoggingSection, { exact: true, default: () => LoggingSection.make({}) }),
  /** Handler processes supervised in full mode (see sections/governor.ts). */
  governor: Schema.optionalWith(GovernorSection, { exact: true, default: () => GovernorSection.make({}) }),
  /** The ZeroMQ event stream, peer wake-ups and notifiers (see sections/events.ts). */
  events: Schema.optionalWith(EventsSection, { exact: true, default: () => noEvents }),
  /** The server an edge box syncs with (see sections/upstream.ts); null = none. */
  upstream: Schema.optionalWith(Schema.NullOr(UpstreamSection), { exact: true, default: () => null }),
  /** The edge hub edge boxes sync with (see sections/edges.ts). */
  edges: Schema.optionalWith(EdgesSection, { exact: true, default: () => noEdges })
}).pipe(containing("a mapping"))
export type DeploymentConfig = typeof DeploymentConfig.Type

