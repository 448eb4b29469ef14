/**
 * The schema, as versioned forward-only migrations. Never edit a migration that
 * has shipped: add the next one. Keys must match `^(\d+)_(.+)$`; the number is
 * the schema version a database reaches once the migration has run.
 *
 * Conventions: instants are integer milliseconds since the epoch (UTC), JSON
 * columns hold the domain Schema's encoding, flags are 0/1.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Marks the file as ours in the SQLite header ("SZ01"), so a foreign file is recognised even when empty of tables. */
export const applicationId = 0x535a3031

/** Where applied migrations are recorded. */
export const migrationsTable = "schedulezero_migrations"

const statements = (...ddl: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    for (const statement of ddl) yield* sql.unsafe(statement)
  })

const core = statements(
  `PRAGMA application_id = ${applicationId}`,
  `CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    handler TEXT NOT NULL,
    method TEXT NOT NULL,
    executor TEXT NOT NULL,
    max_running_jobs INTEGER,
    misfire_grace_time REAL,
    retry TEXT NOT NULL,
    timeout_ms INTEGER,
    metadata TEXT NOT NULL
  ) STRICT`,
  `CREATE TABLE schedules (
    id TEXT PRIMARY KEY NOT NULL,
    task_id TEXT NOT NULL,
    trigger TEXT NOT NULL,
    args TEXT NOT NULL,
    kwargs TEXT NOT NULL,
    paused INTEGER NOT NULL CHECK (paused IN (0, 1)),
    coalesce_policy TEXT NOT NULL,
    misfire_grace_time REAL,
    max_jitter REAL,
    job_result_expiration_time REAL NOT NULL,
    metadata TEXT NOT NULL,
    next_fire_time INTEGER,
    last_fire_time INTEGER,
    acquired_by TEXT,
    acquired_until INTEGER
  ) STRICT`,
  // due schedules: acquireSchedules and getNextScheduleRunTime
  `CREATE INDEX schedules_due ON schedules (next_fire_time) WHERE paused = 0 AND next_fire_time IS NOT NULL`,
  // held schedules: getNextScheduleRunTime waits for their lease
  `CREATE INDEX schedules_leased ON schedules (acquired_until) WHERE acquired_by IS NOT NULL`,
  `CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    task_id TEXT NOT NULL,
    schedule_id TEXT,
    args TEXT NOT NULL,
    kwargs TEXT NOT NULL,
    scheduled_fire_time INTEGER,
    jitter_ms REAL NOT NULL,
    executor TEXT NOT NULL,
    start_deadline INTEGER,
    result_expiration_time REAL NOT NULL,
    metadata TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    available_at INTEGER,
    acquired_by TEXT,
    acquired_until INTEGER,
    started_at INTEGER
  ) STRICT`,
  // free jobs, oldest first: acquireJobs
  `CREATE INDEX jobs_free ON jobs (created_at, id) WHERE acquired_by IS NULL`,
  // retries waiting for their backoff: getNextJobAvailableTime
  `CREATE INDEX jobs_retry ON jobs (available_at) WHERE acquired_by IS NULL AND available_at IS NOT NULL`,
  // leased jobs (few: bounded by the schedulers' concurrency): running counts per task,
  // lapsed leases, a restarted scheduler's own jobs
  `CREATE INDEX jobs_leased ON jobs (acquired_by, acquired_until) WHERE acquired_by IS NOT NULL`,
  `CREATE TABLE job_results (
    job_id TEXT PRIMARY KEY NOT NULL,
    task_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    error_tag TEXT,
    error_message TEXT,
    return_value TEXT
  ) STRICT`,
  // expired results: cleanup
  `CREATE INDEX job_results_expiry ON job_results (expires_at)`
)

const executionLog = statements(
  `CREATE TABLE execution_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    schedule_id TEXT,
    task_id TEXT NOT NULL,
    handler TEXT,
    method TEXT,
    scheduler_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    will_retry INTEGER NOT NULL CHECK (will_retry IN (0, 1)),
    scheduled_at INTEGER,
    started_at INTEGER,
    finished_at INTEGER NOT NULL,
    duration_ms INTEGER,
    lateness_ms INTEGER,
    outcome TEXT NOT NULL,
    error_tag TEXT,
    error_message TEXT,
    params_summary TEXT NOT NULL,
    result_summary TEXT
  ) STRICT`,
  // time ranges and retention by age
  `CREATE INDEX execution_log_finished ON execution_log (finished_at)`,
  // filters, newest first
  `CREATE INDEX execution_log_handler ON execution_log (handler, seq)`,
  `CREATE INDEX execution_log_task ON execution_log (task_id, seq)`,
  `CREATE INDEX execution_log_schedule ON execution_log (schedule_id, seq)`
)

// Remote handler instances the zmq registry has seen (src/components/registry/directory/Sqlite.ts)
const handlerInstances = statements(
  `CREATE TABLE handler_instances (
    instance_id TEXT PRIMARY KEY NOT NULL,
    handler_id TEXT NOT NULL,
    methods_json TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('online', 'offline')),
    registered_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
  ) STRICT`,
  `CREATE INDEX handler_instances_handler ON handler_instances (handler_id, instance_id)`
)

// Edge sync (src/components/edge): the edge's outbox of execution-log rows not yet
// acknowledged by its server, and the server's view of its edges.
const edgeSync = statements(
  `CREATE TABLE edge_outbox (
    id INTEGER PRIMARY KEY NOT NULL,
    enqueued_at INTEGER NOT NULL,
    entry TEXT NOT NULL
  ) STRICT`,
  `CREATE TABLE edge_nodes (
    edge_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('online', 'offline')),
    registered_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    last_received_id INTEGER NOT NULL,
    backlog INTEGER,
    dropped INTEGER NOT NULL,
    clock_skew_ms INTEGER
  ) STRICT`
)

// Schedule assignment to edges (src/components/edge/assignments*.ts). Server: the
// per-edge ordered log of assignment operations (never pruned: an edge whose
// database was replaced replays it from version 1), the schedules each edge
// should run now, and the version each edge reports it runs. Edge: the version
// it has applied.
const edgeAssignments = statements(
  `CREATE TABLE edge_assignments (
    edge_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    schedule_id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('put', 'pause', 'resume', 'remove')),
    schedule TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (edge_id, version)
  ) STRICT`,
  `CREATE TABLE edge_schedules (
    edge_id TEXT NOT NULL,
    schedule_id TEXT NOT NULL,
    schedule TEXT NOT NULL,
    paused INTEGER NOT NULL CHECK (paused IN (0, 1)),
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (edge_id, schedule_id)
  ) STRICT`,
  `ALTER TABLE edge_nodes ADD COLUMN applied_version INTEGER NOT NULL DEFAULT 0`,
  `CREATE TABLE edge_applied (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    version INTEGER NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`
)

// Why an edge could not apply the current version of an assigned schedule (null: applied, or not reported yet).
const edgeAssignmentRejections = statements(`ALTER TABLE edge_schedules ADD COLUMN rejected TEXT`)

export const migrations: Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>> = {
  "1_core": core,
  "2_execution_log": executionLog,
  "3_handler_instances": handlerInstances,
  "4_edge_sync": edgeSync,
  "5_edge_assignments": edgeAssignments,
  "6_edge_assignment_rejections": edgeAssignmentRejections
}

/** The schema version this build writes. */
export const latestVersion = Math.max(...Object.keys(migrations).map((key) => Number.parseInt(key, 10)))
