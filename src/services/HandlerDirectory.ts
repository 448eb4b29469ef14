/**
 * What the server knows about remote handler instances, kept across restarts:
 * which handler ids exist, their methods, and when each instance was last
 * seen. The zmq registry writes a record when an instance registers, goes
 * offline or deregisters (never per heartbeat), and reads them all at start to
 * list known handlers as offline until they reconnect.
 * Implementations: memory (src/components/registry/zmq/MemoryDirectory.ts), sqlite.
 */
import { Context, type Effect, Schema } from "effect"

export const KnownMethod = Schema.Struct({
  name: Schema.String,
  /** JSON Schema of the kwargs, as the handler declared it; null when it declared none. */
  params: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
export type KnownMethod = typeof KnownMethod.Type

export class HandlerInstanceRecord extends Schema.Class<HandlerInstanceRecord>("HandlerInstanceRecord")({
  handlerId: Schema.String,
  instanceId: Schema.String,
  methods: Schema.Array(KnownMethod),
  capacity: Schema.Int,
  /** online while registered; offline once lost or deregistered. */
  status: Schema.Literal("online", "offline"),
  registeredAt: Schema.Date,
  /** When the server last changed this record (register, lost, deregister). */
  lastSeenAt: Schema.Date
}) {}

export interface HandlerDirectoryShape {
  /** Inserts or replaces the record of `record.instanceId`. */
  readonly save: (record: HandlerInstanceRecord) => Effect.Effect<void>
  /** Every record, ordered by handlerId then instanceId. */
  readonly list: () => Effect.Effect<ReadonlyArray<HandlerInstanceRecord>>
  /** Forgets an instance (a pool keeps its other instances). */
  readonly remove: (instanceId: string) => Effect.Effect<void>
}

export class HandlerDirectory extends Context.Tag("schedulezero/HandlerDirectory")<
  HandlerDirectory,
  HandlerDirectoryShape
>() {}
