/**
 * HandlerDirectory in the sqlite store's file (table `handler_instances`,
 * migration 3): remote handlers and their methods survive a server restart.
 * It runs on the store's own connection: `layerOnStore` provides the store's
 * `ClientLive`, which a layer build creates once however often it is
 * referenced.
 */
import type { SqlClient } from "@effect/sql"
import { Layer, Schema } from "effect"
import { resolveOptions, type SqliteOptions } from "../../datastore/Sqlite.js"
import { ClientLive, SqliteStoreOptions } from "../../datastore/sqlite/Client.js"
import type { DatabaseRefused } from "../../datastore/sqlite/errors.js"
import { type HandlerDirectory, HandlerInstanceRecord, KnownMethod } from "../../../services/HandlerDirectory.js"
import * as SqlDirectory from "./SqlDirectory.js"

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

const codec = { encode: Schema.encodeSync(RecordFromRow), decode: Schema.decodeUnknownEither(RecordFromRow) }

/** The directory over whatever SqlClient is provided. */
export const layer: Layer.Layer<HandlerDirectory, never, SqlClient.SqlClient> = SqlDirectory.layer(codec)

/**
 * The directory in the sqlite store's file, on the store's connection when
 * both are built together (as `Sqlite.layer(options)` with the same options).
 */
export const layerOnStore = (options: SqliteOptions): Layer.Layer<HandlerDirectory, DatabaseRefused> =>
  layer.pipe(Layer.provide(ClientLive), Layer.provide(Layer.succeed(SqliteStoreOptions, resolveOptions(options))))
