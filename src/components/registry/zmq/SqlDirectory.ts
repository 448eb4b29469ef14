/**
 * HandlerDirectory over a SQL table `handler_instances` (sqlite migration 3,
 * postgres migration 4): the same statements on either database; each
 * dialect brings the codec between a record and its row.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Either, Layer, ParseResult } from "effect"
import { HandlerDirectory, type HandlerDirectoryShape, type HandlerInstanceRecord } from "../../../services/HandlerDirectory.js"

export interface RowCodec {
  readonly encode: (record: HandlerInstanceRecord) => Record<string, unknown>
  readonly decode: (row: unknown) => Either.Either<HandlerInstanceRecord, ParseResult.ParseError>
}

export const make = (codec: RowCodec): Effect.Effect<HandlerDirectoryShape, never, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    // The registry's memory is the authority while it runs: a failed write is
    // logged (the record is rewritten at the instance's next change), never fatal.
    const logFailure = (what: string, instanceId: string) => (error: unknown) =>
      Effect.logWarning(`handler directory: ${what} failed`).pipe(
        Effect.annotateLogs({ instanceId, error: String(error) })
      )

    const save: HandlerDirectoryShape["save"] = (record) => {
      const row = codec.encode(record)
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
          const decoded = codec.decode(row)
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
export const layer = (codec: RowCodec): Layer.Layer<HandlerDirectory, never, SqlClient.SqlClient> =>
  Layer.effect(HandlerDirectory, make(codec))
