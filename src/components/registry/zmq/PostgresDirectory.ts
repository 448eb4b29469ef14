/**
 * HandlerDirectory in the postgres store's schema (table `handler_instances`,
 * migration 4): remote handlers and their methods survive a server restart.
 * It runs on the store's pool: `layerOnStore` provides the store's
 * `ClientLive`, which a layer build creates once however often it is
 * referenced (so the pool is opened and migrated once).
 */
import type { SqlClient } from "@effect/sql"
import { Either, Layer, Schema } from "effect"
import { type PostgresOptions, resolveOptions } from "../../datastore/Postgres.js"
import { ClientLive, PostgresStoreOptions } from "../../datastore/postgres/Client.js"
import type { PostgresRefused } from "../../datastore/postgres/errors.js"
import { type HandlerDirectory, HandlerInstanceRecord, KnownMethod } from "../../../services/HandlerDirectory.js"
import * as SqlDirectory from "./SqlDirectory.js"

/** A row as the driver reads it: jsonb parsed, timestamptz as Date. */
const Row = Schema.Struct({
  instance_id: Schema.String,
  handler_id: Schema.String,
  methods_json: Schema.Array(KnownMethod),
  capacity: Schema.Int,
  status: Schema.Literal("online", "offline"),
  registered_at: Schema.DateFromSelf,
  last_seen_at: Schema.DateFromSelf
})
const decodeRow = Schema.decodeUnknownEither(Row)

const codec: SqlDirectory.RowCodec = {
  encode: (record) => ({
    instance_id: record.instanceId,
    handler_id: record.handlerId,
    // Sent as text: the driver would send a JS array as a postgres array, not JSON.
    methods_json: JSON.stringify(record.methods),
    capacity: record.capacity,
    status: record.status,
    registered_at: record.registeredAt,
    last_seen_at: record.lastSeenAt
  }),
  decode: (row) =>
    decodeRow(row).pipe(Either.map((decoded) =>
      new HandlerInstanceRecord({
        handlerId: decoded.handler_id,
        instanceId: decoded.instance_id,
        methods: decoded.methods_json,
        capacity: decoded.capacity,
        status: decoded.status,
        registeredAt: decoded.registered_at,
        lastSeenAt: decoded.last_seen_at
      })
    ))
}

/** The directory over whatever (postgres) SqlClient is provided. */
export const layer: Layer.Layer<HandlerDirectory, never, SqlClient.SqlClient> = SqlDirectory.layer(codec)

/**
 * The directory in the postgres store's schema, on the store's pool when both
 * are built together (as `Postgres.layer(options)` with the same options).
 */
export const layerOnStore = (options: PostgresOptions): Layer.Layer<HandlerDirectory, PostgresRefused> =>
  layer.pipe(Layer.provide(ClientLive), Layer.provide(Layer.succeed(PostgresStoreOptions, resolveOptions(options))))
