/**
 * The server side of edge sync (full mode): a ROUTER socket edges connect out
 * to. An edge registers (`hello`) with its id and token (or, with CURVE, proof
 * of holding the key bound to its id), then heartbeats and
 * delivers its outbox; the hub writes the rows into the server's execution log
 * and acknowledges the highest id it holds. Rows arrive in id order, so one
 * high-water mark per edge (`edge_nodes.last_received_id`), read and advanced
 * in the transaction that inserts the rows, makes redelivery harmless: each
 * execution is in the server's log exactly once. Event rows (a schedule
 * added, paused, ...; the edge's scheduler started or stopped) share the id
 * space and are republished once, after their transaction commits, as
 * EdgeEvent on the server's broker.
 *
 * Edges are tracked in `edge_nodes` (migration 4): online/offline (silent for
 * `missedHeartbeats` intervals = offline), last seen, the backlog and drop
 * count they report, and their clock skew measured at each hello.
 *
 * Every reply also carries the schedule-assignment ops after the version the
 * edge reports it has applied (assignments.ts), and the hub records that
 * version as the one the edge runs. The EdgeAssignments service is built
 * here, on the same connection.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { Context, Data, Effect, Either, Layer, Schedule, Schema, type Scope } from "effect"
import * as zmq from "zeromq"
import { bindScoped } from "../../protocol/bindScoped.js"
import { proofMatches } from "../../protocol/keyProof.js"
import { receiveLoop } from "../../protocol/socketLoops.js"
import { parseTokenHash, tokenMatches } from "../registry/zmq/credentials.js"
import type { CurveServerOptions } from "../registry/zmq/options.js"
import { serveAllowList } from "../registry/zmq/zap.js"
import { makeImmediateTransaction } from "../datastore/sqlite/transaction.js"
import * as Assignments from "./assignments.js"
import { EdgeEvent } from "../../domain/events.js"
import { EventBroker } from "../../services/EventBroker.js"
import {
  decodeEdgeMessage,
  type EdgeMessage,
  encodeHubMessage,
  helloProofMessage,
  type HubMessage,
  type OutboxEntry,
  type OutboxEvent,
  type OutboxRow
} from "./protocol.js"

export interface HubOptions {
  /** ZeroMQ endpoint to bind; port 0 picks a free port (see `Hub.endpoint`). */
  readonly endpoint: string
  /** Edge id → `sha256:<hex>` of its token (an edge with a bound CURVE key may have none). */
  readonly credentials: Readonly<Record<string, string>>
  readonly heartbeatIntervalMs: number
  readonly missedHeartbeats: number
  /**
   * CURVE-encrypt the link with this secret key; only the listed edge public
   * keys may connect (others are refused in the handshake and logged). A hello
   * is tied to its edge id by the token, or by proof of the key bound to the id
   * in `edgeKeys`. Absent or null: plain TCP.
   */
  readonly curve?: HubCurve | null
}

export interface HubCurve extends CurveServerOptions {
  /** Edge id → its public key (Z85): a hello proving it (helloProofMessage) needs no token. */
  readonly edgeKeys?: Readonly<Record<string, string>>
}

export const EdgeStatus = Schema.Literal("online", "offline")

/** What the server knows of one edge. */
export const EdgeNode = Schema.Struct({
  edgeId: Schema.String,
  status: EdgeStatus,
  registeredAt: Schema.DateFromNumber,
  lastSeenAt: Schema.DateFromNumber,
  lastReceivedId: Schema.Number,
  backlog: Schema.NullOr(Schema.Number),
  dropped: Schema.Number,
  /** Edge clock minus server clock at the last hello (ms; includes the one-way network delay). */
  clockSkewMs: Schema.NullOr(Schema.Number)
})
export type EdgeNode = typeof EdgeNode.Type

export interface HubShape {
  /** The bound endpoint (the real port when 0 was asked for). */
  readonly endpoint: string
  readonly edges: Effect.Effect<ReadonlyArray<EdgeNode>>
}

export class Hub extends Context.Tag("schedulezero/EdgeHub")<Hub, HubShape>() {}

export class EdgeHubError extends Data.TaggedError("EdgeHubError")<{ readonly reason: string }> {
  override get message() {
    return `edge hub: ${this.reason}`
  }
}

const decodeEdgeNodes = Schema.decodeUnknown(Schema.Array(EdgeNode))

/** Rows per INSERT (19 columns each, well under SQLite's variable limit). */
const insertChunk = 500

const bindRouter = (endpoint: string, curve: HubCurve | null, context: zmq.Context) =>
  bindScoped(
    () =>
      new zmq.Router({
        context,
        linger: 0,
        maxMessageSize: 64 * 1024 * 1024,
        ...(curve !== null && { curveServer: true, curveSecretKey: curve.secretKey, zapDomain: "schedulezero-edges" })
      }),
    endpoint,
    (reason) => new EdgeHubError({ reason })
  )

const peerName = (peer: Buffer) => `0x${peer.toString("hex")}`

export const make = (
  options: HubOptions
): Effect.Effect<readonly [HubShape, Assignments.EdgeAssignmentsShape], EdgeHubError, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const immediate = makeImmediateTransaction(sql)
    const clock = yield* Effect.clock
    // A context of its own: the CURVE allow-list's ZAP handler is per context.
    const context = new zmq.Context()
    const curve = options.curve ?? null
    const allowed = curve?.allowedPublicKeys ?? null
    if (allowed !== null) {
      yield* serveAllowList(context, new Set(allowed), (refusal) =>
        Effect.logWarning("edge connection refused: CURVE key not allowed").pipe(
          Effect.annotateLogs({ address: refusal.address, publicKey: refusal.publicKey ?? `(${refusal.mechanism})` })
        )
      ).pipe(Effect.mapError((error) => new EdgeHubError({ reason: error.message })))
    }
    const socket = yield* bindRouter(options.endpoint, curve, context)
    const endpoint = socket.lastEndpoint ?? options.endpoint
    const edgeKeys = curve?.edgeKeys ?? {}
    const configured = new Set([...Object.keys(options.credentials), ...Object.keys(edgeKeys)])
    const assignments = yield* Assignments.make({ endpoint, configured: Array.from(configured) })
    // ROUTER identity → edge id, set by an accepted hello.
    const registered = new Map<string, string>()

    const reply = (peer: Buffer, message: HubMessage) =>
      Effect.tryPromise(() => socket.send([peer, ...encodeHubMessage(message)])).pipe(
        Effect.catchAll((error) => Effect.logWarning("edge hub: reply not sent").pipe(Effect.annotateLogs({ error: String(error) })))
      )

    type Hello = Extract<EdgeMessage, { _tag: "hello" }>
    /** Either credential ties a hello to its edge id: the id's token, or proof of holding the key bound to the id. */
    const credentialOk = ({ edgeId, token, curveKey, proof }: Hello) => {
      const stored = options.credentials[edgeId]
      const digest = stored === undefined ? undefined : parseTokenHash(stored)
      if (digest !== undefined && token !== undefined && tokenMatches(token, digest)) return true
      const boundKey = edgeKeys[edgeId]
      return curve !== null && boundKey !== undefined && curveKey === boundKey && proof !== undefined &&
        proofMatches(curve.secretKey, boundKey, proof, helloProofMessage(edgeId))
    }

    const lastReceived = (edgeId: string) =>
      sql<{ last_received_id: number }>`SELECT last_received_id FROM edge_nodes WHERE edge_id = ${edgeId}`.pipe(
        Effect.map((rows) => rows[0]?.last_received_id ?? 0)
      )

    const hello = (peer: Buffer, message: Hello) =>
      Effect.gen(function* () {
        if (!credentialOk(message)) {
          const reason = `unknown edge id or wrong ${message.token === undefined ? "key proof" : "token"}`
          yield* Effect.logWarning(`edge refused: ${reason}`).pipe(
            Effect.annotateLogs({ edgeId: message.edgeId, peer: peerName(peer), curveKey: message.curveKey ?? null })
          )
          return { _tag: "refused", ref: message.ref, reason } as const
        }
        const now = clock.unsafeCurrentTimeMillis()
        const skew = message.sentAt - now
        const [received, pending] = yield* immediate(
          Effect.zipRight(
            sql`INSERT INTO edge_nodes (edge_id, status, registered_at, last_seen_at, last_received_id, backlog, dropped,
                  clock_skew_ms, applied_version)
                VALUES (${message.edgeId}, 'online', ${now}, ${now}, 0, ${message.backlog}, ${message.dropped}, ${skew},
                  ${message.applied})
                ON CONFLICT (edge_id) DO UPDATE SET status = 'online', registered_at = excluded.registered_at,
                  last_seen_at = excluded.last_seen_at, backlog = excluded.backlog, dropped = excluded.dropped,
                  clock_skew_ms = excluded.clock_skew_ms, applied_version = excluded.applied_version`,
            Effect.zipRight(
              assignments.rejected(message.edgeId, message.rejected),
              Effect.all([lastReceived(message.edgeId), assignments.pending(message.edgeId, message.applied)])
            )
          )
        )
        if (pending.reset) {
          yield* Effect.logWarning("edge runs an assignment version this server never issued (database replaced?): it starts over from this server's").pipe(
            Effect.annotateLogs({ edgeId: message.edgeId, applied: message.applied, latest: pending.latest })
          )
        }
        // an edge reconnecting comes back under a new routing id: forget its old ones
        for (const [key, edgeId] of registered) if (edgeId === message.edgeId) registered.delete(key)
        registered.set(peer.toString("latin1"), message.edgeId)
        yield* Effect.logInfo("edge online").pipe(
          Effect.annotateLogs({
            edgeId: message.edgeId, backlog: message.backlog, clockSkewMs: skew, received,
            applied: message.applied, latest: pending.latest
          })
        )
        return { _tag: "welcome", ref: message.ref, serverTime: now, received, assignments: pending } as const
      })

    type Reported = Extract<EdgeMessage, { _tag: "heartbeat" | "rows" }>
    const seen = (edgeId: string, message: Reported, lastId: number | null) =>
      sql`UPDATE edge_nodes SET status = 'online', last_seen_at = ${clock.unsafeCurrentTimeMillis()},
            backlog = ${message.backlog}, dropped = ${message.dropped}, applied_version = ${message.applied},
            last_received_id = MAX(last_received_id, ${lastId ?? 0})
          WHERE edge_id = ${edgeId}`

    /** The ack: the highest row id held, and the assignment ops the edge has not applied yet (its rejections noted). */
    const ack = (edgeId: string, message: Reported, received: number) =>
      Effect.zipRight(
        assignments.rejected(edgeId, message.rejected),
        Effect.map(
          assignments.pending(edgeId, message.applied),
          (pending) => ({ _tag: "ack", ref: message.ref, received, assignments: pending }) as const
        )
      )

    // the edge's events are republished on the server's broker (when it has one), after their rows commit
    const broker = yield* Effect.serviceOption(EventBroker)
    const republish = (edgeId: string, events: ReadonlyArray<OutboxEvent>) =>
      broker._tag === "None" || events.length === 0
        ? Effect.void
        : broker.value.publishAll(
            events.map((event) =>
              EdgeEvent.make({
                timestamp: new Date(event.at),
                edgeId,
                kind: event.kind,
                scheduleId: event.schedule_id,
                taskId: event.task_id,
                schedulerId: event.scheduler_id
              })
            )
          )

    const store = (edgeId: string, rows: ReadonlyArray<OutboxRow>) =>
      Effect.gen(function* () {
        const last = yield* lastReceived(edgeId)
        const entries: Array<OutboxEntry> = []
        const events: Array<OutboxEvent> = []
        for (const row of rows) {
          if (row.id <= last) continue
          if ("entry" in row) entries.push(row.entry)
          else events.push(row.event)
        }
        for (let i = 0; i < entries.length; i += insertChunk) {
          yield* sql`INSERT INTO execution_log ${sql.insert(entries.slice(i, i + insertChunk))}`
        }
        return { events, received: Math.max(last, ...rows.map((row) => row.id)) }
      })

    const inOrder = (rows: ReadonlyArray<OutboxRow>) => rows.every((row, i) => i === 0 || rows[i - 1]!.id < row.id)

    const handle = (peer: Buffer, message: EdgeMessage): Effect.Effect<HubMessage, SqlError.SqlError> => {
      if (message._tag === "hello") return hello(peer, message)
      const edgeId = registered.get(peer.toString("latin1"))
      if (edgeId === undefined) {
        return Effect.succeed({ _tag: "refused", ref: message.ref, reason: "not registered: send hello first" })
      }
      if (message._tag === "heartbeat") {
        return Effect.zipRight(seen(edgeId, message, null), lastReceived(edgeId)).pipe(
          Effect.flatMap((received) => ack(edgeId, message, received))
        )
      }
      if (!inOrder(message.rows)) {
        return Effect.succeed({ _tag: "refused", ref: message.ref, reason: "rows must be in increasing id order" })
      }
      return immediate(
        Effect.tap(store(edgeId, message.rows), ({ received }) => seen(edgeId, message, received))
      ).pipe(
        Effect.tap(({ events }) => republish(edgeId, events)),
        Effect.flatMap(({ received }) => ack(edgeId, message, received))
      )
    }

    const onFrames = (frames: Array<Buffer>) => {
      const [peer, ...rest] = frames
      if (peer === undefined) return Effect.void
      return Either.match(decodeEdgeMessage(rest), {
        onLeft: (reason) =>
          Effect.logWarning("edge hub: bad message dropped").pipe(Effect.annotateLogs({ peer: peerName(peer), reason })),
        onRight: (message) =>
          handle(peer, message).pipe(
            Effect.flatMap((answer) => reply(peer, answer)),
            Effect.catchAll((error) =>
              Effect.logError("edge hub: message not stored (the edge will resend it)").pipe(
                Effect.annotateLogs({ peer: peerName(peer), error: String(error) })
              )
            )
          )
      })
    }
    yield* Effect.forkScoped(receiveLoop(socket, onFrames))

    const silenceMs = options.heartbeatIntervalMs * options.missedHeartbeats
    const sweep = () => sql<{ edge_id: string }>`UPDATE edge_nodes SET status = 'offline'
        WHERE status = 'online' AND last_seen_at < ${clock.unsafeCurrentTimeMillis() - silenceMs} RETURNING edge_id`.pipe(
      Effect.flatMap((rows) =>
        Effect.forEach(rows, (row) => Effect.logInfo("edge offline").pipe(Effect.annotateLogs({ edgeId: row.edge_id })))
      ),
      Effect.catchAll((error) => Effect.logWarning("edge hub: offline sweep failed").pipe(Effect.annotateLogs({ error: String(error) })))
    )
    yield* Effect.forkScoped(Effect.repeat(Effect.suspend(sweep), Schedule.spaced(options.heartbeatIntervalMs)))

    const edges = sql`SELECT edge_id AS "edgeId", status, registered_at AS "registeredAt", last_seen_at AS "lastSeenAt",
        last_received_id AS "lastReceivedId", backlog, dropped, clock_skew_ms AS "clockSkewMs"
        FROM edge_nodes ORDER BY edge_id`.pipe(Effect.flatMap(decodeEdgeNodes), Effect.orDie)

    yield* Effect.logInfo(`edge hub listening on ${endpoint}`)
    return [{ endpoint, edges }, assignments] as const
  })

/** The hub, and the assignments it serves (read by the portal). */
export const layer = (
  options: HubOptions
): Layer.Layer<Hub | Assignments.EdgeAssignments, EdgeHubError, SqlClient.SqlClient> =>
  Layer.scopedContext(
    Effect.map(make(options), ([hub, assignments]) =>
      Context.make(Hub, hub).pipe(Context.add(Assignments.EdgeAssignments, assignments))
    )
  )
