/**
 * The PostgreSQL schema, as versioned forward-only migrations. Never edit a
 * migration that has shipped: add the next one. Keys must match `^(\d+)_(.+)$`;
 * the number is the schema version a database reaches once it has run.
 *
 * Conventions: instants are timestamptz, JSON values jsonb (the domain
 * Schema's encoding), flags boolean. Tables are created in the connection's
 * current schema (the configured `schema`).
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Where applied migrations are recorded. */
export const migrationsTable = "schedulezero_migrations"

const statements = (...ddl: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    for (const statement of ddl) yield* sql.unsafe(statement)
  })

const core = statements(
  `CREATE TABLE tasks (
    id text PRIMARY KEY,
    handler text NOT NULL,
    method text NOT NULL,
    executor text NOT NULL,
    max_running_jobs integer,
    misfire_grace_time double precision,
    retry jsonb NOT NULL,
    timeout_ms integer,
    metadata jsonb NOT NULL
  )`,
  `CREATE TABLE schedules (
    id text PRIMARY KEY,
    task_id text NOT NULL,
    trigger jsonb NOT NULL,
    args jsonb NOT NULL,
    kwargs jsonb NOT NULL,
    paused boolean NOT NULL,
    coalesce_policy text NOT NULL,
    misfire_grace_time double precision,
    max_jitter double precision,
    job_result_expiration_time double precision NOT NULL,
    metadata jsonb NOT NULL,
    next_fire_time timestamptz,
    last_fire_time timestamptz,
    acquired_by text,
    acquired_until timestamptz
  )`,
  // due schedules: acquireSchedules and getNextScheduleRunTime
  `CREATE INDEX schedules_due ON schedules (next_fire_time, id) WHERE NOT paused AND next_fire_time IS NOT NULL`,
  // held schedules: getNextScheduleRunTime waits for their lease
  `CREATE INDEX schedules_leased ON schedules (acquired_until) WHERE acquired_by IS NOT NULL`,
  `CREATE TABLE jobs (
    id uuid PRIMARY KEY,
    task_id text NOT NULL,
    schedule_id text,
    args jsonb NOT NULL,
    kwargs jsonb NOT NULL,
    scheduled_fire_time timestamptz,
    jitter_ms double precision NOT NULL,
    executor text NOT NULL,
    start_deadline timestamptz,
    result_expiration_time double precision NOT NULL,
    metadata jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    attempt integer NOT NULL,
    available_at timestamptz,
    acquired_by text,
    acquired_until timestamptz,
    started_at timestamptz,
    -- the acquireJobs call that leased the job: a call retried after a lost connection finds its own leases
    lease_token uuid
  )`,
  // free jobs, oldest first: acquireJobs
  `CREATE INDEX jobs_free ON jobs (created_at, id) WHERE acquired_by IS NULL`,
  // retries waiting for their backoff: getNextJobAvailableTime
  `CREATE INDEX jobs_retry ON jobs (available_at) WHERE acquired_by IS NULL AND available_at IS NOT NULL`,
  // leased jobs: running counts per task, lapsed leases, a restarted scheduler's own jobs
  `CREATE INDEX jobs_leased ON jobs (acquired_by, acquired_until) WHERE acquired_by IS NOT NULL`,
  `CREATE INDEX jobs_lapsing ON jobs (acquired_until) WHERE acquired_by IS NOT NULL`,
  `CREATE INDEX jobs_lease_token ON jobs (lease_token) WHERE lease_token IS NOT NULL`,
  `CREATE TABLE job_results (
    job_id uuid PRIMARY KEY,
    task_id text NOT NULL,
    outcome text NOT NULL,
    attempt integer NOT NULL,
    started_at timestamptz,
    finished_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    error_tag text,
    error_message text,
    return_value jsonb
  )`,
  // expired results: cleanup
  `CREATE INDEX job_results_expiry ON job_results (expires_at)`
)

const executionLog = statements(
  `CREATE TABLE execution_log (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id uuid NOT NULL,
    schedule_id text,
    task_id text NOT NULL,
    handler text,
    method text,
    scheduler_id text NOT NULL,
    attempt integer NOT NULL,
    max_attempts integer NOT NULL,
    will_retry boolean NOT NULL,
    scheduled_at timestamptz,
    started_at timestamptz,
    finished_at timestamptz NOT NULL,
    duration_ms double precision,
    lateness_ms double precision,
    outcome text NOT NULL,
    error_tag text,
    error_message text,
    params_summary text NOT NULL,
    result_summary text
  )`,
  // time ranges and retention by age
  `CREATE INDEX execution_log_finished ON execution_log (finished_at)`,
  // filters, newest first
  `CREATE INDEX execution_log_handler ON execution_log (handler, seq)`,
  `CREATE INDEX execution_log_task ON execution_log (task_id, seq)`,
  `CREATE INDEX execution_log_schedule ON execution_log (schedule_id, seq)`
)

const brokerEvents = statements(
  // events too large for a NOTIFY payload: the notification carries the row's id (see broker/Postgres.ts)
  `CREATE TABLE broker_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    payload text NOT NULL
  )`,
  `CREATE INDEX broker_events_created ON broker_events (created_at)`
)

const handlerInstances = statements(
  // remote handler instances and their methods, kept across restarts (registry/zmq/PostgresDirectory.ts)
  `CREATE TABLE handler_instances (
    instance_id text PRIMARY KEY,
    handler_id text NOT NULL,
    methods_json jsonb NOT NULL,
    capacity integer NOT NULL,
    status text NOT NULL,
    registered_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
  )`,
  `CREATE INDEX handler_instances_handler ON handler_instances (handler_id)`
)

export const migrations: Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>> = {
  "1_core": core,
  "2_execution_log": executionLog,
  "3_broker_events": brokerEvents,
  "4_handler_instances": handlerInstances
}

/** The schema version this build writes. */
export const latestVersion = Math.max(...Object.keys(migrations).map((key) => Number.parseInt(key, 10)))
