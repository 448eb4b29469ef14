/**
 * HandlerDirectory in the sqlite store's file (table `handler_instances`,
 * migration 3): remote handlers and their methods survive a server restart.
 * It runs on the store's own connection: `layerOnStore` provides the store's
 * `ClientLive`, which a layer build creates once however often it is
 * referenced.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Either, Layer, ParseResult, Schema } from "effect"
import { resolveOptions, type SqliteOptions } from "../../datastore/Sqlite.js"
import { ClientLive, SqliteStoreOptions } from "../../datastore/sqlite/Client.js"
import type { DatabaseRefused } from "../../datastore/sqlite/errors.js"
import { HandlerDirectory, type HandlerDirectoryShape, HandlerInstanceRecord, KnownMethod } from "../../../services/HandlerDirectory.js"

/** A row of `handler_instances`, as the record it stores. */
const RecordFromRow = Schema.transform(
  Schema.Struct({
    instance_id: Schema.String,
    handler_id: Schema.String,
    methods_json: Schema.parseJson(Schema.Array(KnownMethod)),
    capacity: Schema.Int,
    status: Schema.Literal("online", "offline"),
    registered_at: Schema.DateFromNumber,
    last_seen_at: Schema.DateFromNumber
  }),
  Schema.typeSchema(HandlerInstanceRecord),
  {
    strict: true,
    decode: (row) =>
      new HandlerInstanceRecord({
        handlerId: row.handler_id,
        instanceId: row.instance_id,
        methods: row.methods_json,
        capacity: row.capacity,
        status: row.status,
        registeredAt: row.registered_at,
        lastSeenAt: row.last_seen_at
      }),
    encode: (record) => ({
      instance_id: record.instanceId,
      handler_id: record.handlerId,
      methods_json: record.methods,
      capacity: record.capacity,
      status: record.status,
      registered_at: record.registeredAt,
      last_seen_at: record.lastSeenAt
    })
  }
)

const encodeRow = Schema.encodeSync(RecordFromRow)
const decodeRow = Schema.decodeUnknownEither(RecordFromRow)

export const make: Effect.Effect<HandlerDirectoryShape, never, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  // The registry's memory is the authority while it runs: a failed write is
  // logged (the record is rewritten at the instance's next change), never fatal.
  const logFailure = (what: string, instanceId: string) => (error: unknown) =>
    Effect.logWarning(`handler directory: ${what} failed`).pipe(
      Effect.annotateLogs({ instanceId, error: String(error) })
    )

  const save: HandlerDirectoryShape["save"] = (record) => {
    const row = encodeRow(record)
    return sql`INSERT INTO handler_instances ${sql.insert(row)}
      ON CONFLICT (instance_id) DO UPDATE SET
        handler_id = excluded.handler_id,
        methods_json = excluded.methods_json,
        capacity = excluded.capacity,
        status = excluded.status,
        registered_at = excluded.registered_at,
        last_seen_at = excluded.last_seen_at`.pipe(
      Effect.asVoid,
      Effect.catchAll(logFailure("save", record.instanceId))
    )
  }

  const list: HandlerDirectoryShape["list"] = () =>
    Effect.gen(function*() {
      const rows = yield* sql<Record<string, unknown>>`SELECT * FROM handler_instances ORDER BY handler_id, instance_id`
      const records: Array<HandlerInstanceRecord> = []
      for (const row of rows) {
        const decoded = decodeRow(row)
        if (Either.isRight(decoded)) records.push(decoded.right)
        else {
          // One unreadable row must not hide the others.
          yield* Effect.logWarning("handler directory: row skipped").pipe(
            Effect.annotateLogs({
              instanceId: String(row.instance_id),
              problem: ParseResult.TreeFormatter.formatErrorSync(decoded.left).slice(0, 300)
            })
          )
        }
      }
      return records
    }).pipe(Effect.orDie)

  const remove: HandlerDirectoryShape["remove"] = (instanceId) =>
    sql`DELETE FROM handler_instances WHERE instance_id = ${instanceId}`.pipe(
      Effect.asVoid,
      Effect.catchAll(logFailure("remove", instanceId))
    )

  return { save, list, remove }
})

/** The directory over whatever SqlClient is provided. */
export const layer: Layer.Layer<HandlerDirectory, never, SqlClient.SqlClient> = Layer.effect(HandlerDirectory, make)

/**
 * The directory in the sqlite store's file, on the store's connection when
 * both are built together (as `Sqlite.layer(options)` with the same options).
 */
export const layerOnStore = (options: SqliteOptions): Layer.Layer<HandlerDirectory, DatabaseRefused> =>
  layer.pipe(Layer.provide(ClientLive), Layer.provide(Layer.succeed(SqliteStoreOptions, resolveOptions(options))))
