/**
 * The edge side of edge sync (autonomous mode): a DEALER socket that connects
 * out to the server's edge hub (so the edge needs no open port), registers
 * with its edge id and token (with CURVE also proving its key, which the hub
 * may accept instead), then delivers its outbox oldest first in
 * batches, one request at a time, deleting what the hub acknowledges —
 * at least once, the hub deduplicates. Idle, it heartbeats.
 *
 * Every reply carries the schedule-assignment ops after the version the edge
 * reported; they are applied to the edge's store (assignmentsEdge.ts) before
 * the next request, which reports the new version (and comes at once while
 * the server holds more).
 *
 * Everything runs on background fibers: a lost link (no reply within
 * `replyTimeoutMs`, or no connection to send on) ends the session, and the
 * next one starts after an exponential backoff (reset by a welcome). The
 * scheduler only ever waits for the outbox trigger's insert in its own
 * transaction.
 */
import type { SqlClient } from "@effect/sql"
import { Context, Data, Effect, Either, Layer, Queue, Ref, type Scope } from "effect"
import * as zmq from "zeromq"
import { makeProof } from "../../protocol/keyProof.js"
import { receiveLoop } from "../../protocol/socketLoops.js"
import type { DataStore } from "../../services/DataStore.js"
import * as Applied from "./assignmentsEdge.js"
import * as Outbox from "./Outbox.js"
import {
  type Assignments,
  decodeHubMessage,
  type EdgeMessage,
  encodeEdgeMessage,
  helloProofMessage,
  type HubMessage,
  maxOpsPerReply,
  type Rejection
} from "./protocol.js"

export interface UpstreamOptions {
  /** The server's edge hub, e.g. tcp://server:4250. */
  readonly endpoint: string
  readonly edgeId: string
  /** Null: the edge proves its CURVE key instead (the hub must bind that key to the edge id). */
  readonly token: string | null
  readonly heartbeatIntervalMs: number
  /** A request without a reply for this long ends the session. */
  readonly replyTimeoutMs: number
  readonly backoffInitialMs: number
  readonly backoffMaxMs: number
  /** Outbox rows per delivery request. */
  readonly batchSize: number
  /** How often an idle session looks for new outbox rows. */
  readonly pollIntervalMs: number
  /** How often the outbox bound is applied (online or not). */
  readonly trimIntervalMs: number
  readonly outbox: Outbox.OutboxBounds
  /** CURVE-encrypt the link: the server's public key and this edge's key pair (Z85). Absent or null: plain TCP. */
  readonly curve?: UpstreamCurve | null
}

export interface UpstreamCurve {
  readonly serverPublicKey: string
  readonly publicKey: string
  readonly secretKey: string
}

export interface UpstreamStatus {
  readonly connected: boolean
  /** Edge clock minus server clock at the last welcome (ms, round-trip midpoint). */
  readonly clockSkewMs: number | null
  readonly lastError: string | null
}

export interface UpstreamShape {
  readonly status: Effect.Effect<UpstreamStatus>
  readonly backlog: Effect.Effect<number>
  /** Outbox rows dropped by its bound since this process started. */
  readonly dropped: Effect.Effect<number>
  /** The schedule-assignment version the edge has applied (0: none). */
  readonly applied: Effect.Effect<number>
}

export class Upstream extends Context.Tag("schedulezero/EdgeUpstream")<Upstream, UpstreamShape>() {}

/** Why a session ended; the next one starts after the backoff. */
class SessionEnded extends Data.TaggedError("SessionEnded")<{ readonly reason: string }> {}

export const make = (
  options: UpstreamOptions
): Effect.Effect<UpstreamShape, never, SqlClient.SqlClient | DataStore | Scope.Scope> =>
  Effect.gen(function* () {
    const outbox = yield* Outbox.make(options.outbox)
    const assigned = yield* Applied.make
    const clock = yield* Effect.clock
    const status = yield* Ref.make<UpstreamStatus>({ connected: false, clockSkewMs: null, lastError: null })
    const socket = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const dealer = new zmq.Dealer({
          linger: 0,
          // queue only on a live connection, and never wait to send: a lost link fails the send at once
          immediate: true,
          sendTimeout: 0,
          reconnectInterval: options.backoffInitialMs,
          reconnectMaxInterval: options.backoffMaxMs,
          maxMessageSize: 64 * 1024 * 1024,
          ...(options.curve != null && {
            curveServerKey: options.curve.serverPublicKey,
            curvePublicKey: options.curve.publicKey,
            curveSecretKey: options.curve.secretKey
          })
        })
        dealer.connect(options.endpoint)
        return dealer
      }),
      (dealer) => Effect.sync(() => dealer.close())
    )
    // libzmq gives up on a connection whose CURVE key the server refused: note it, name it, and
    // connect afresh before the next session (the server's allow-list may have changed meanwhile)
    let keyRefused = false
    let reconnectDue = false
    if (options.curve != null) {
      socket.events.on("handshake:error:auth", () => {
        keyRefused = true
        reconnectDue = true
      })
      socket.events.on("handshake", () => (keyRefused = false))
    }
    const noConnection = () =>
      new SessionEnded({ reason: keyRefused ? "the server refused this edge's CURVE key" : "no connection to the server" })
    const reconnectIfRefused = Effect.sync(() => {
      if (!reconnectDue) return
      reconnectDue = false
      socket.disconnect(options.endpoint)
      socket.connect(options.endpoint)
    })

    const replies = yield* Queue.unbounded<HubMessage>()
    yield* Effect.forkScoped(
      receiveLoop(socket, (frames) =>
        Either.match(decodeHubMessage(frames), {
          onLeft: (reason) => Effect.logWarning("upstream: bad message from the server dropped").pipe(Effect.annotateLogs({ reason })),
          onRight: (message) => Queue.offer(replies, message)
        })
      )
    )

    let ref = 0
    const request = (build: (ref: number) => EdgeMessage) =>
      Effect.gen(function* () {
        ref += 1
        const mine = ref
        yield* Effect.tryPromise({
          try: () => socket.send(encodeEdgeMessage(build(mine))),
          catch: noConnection
        })
        const answer = yield* Queue.take(replies).pipe(
          Effect.repeat({ until: (message) => message.ref === mine }),
          Effect.timeoutFail({
            duration: options.replyTimeoutMs,
            onTimeout: () => new SessionEnded({ reason: `no reply within ${options.replyTimeoutMs} ms` })
          })
        )
        if (answer._tag === "refused") return yield* new SessionEnded({ reason: `refused by the server: ${answer.reason}` })
        return answer
      })

    // Ops the edge passed over, reported with the next requests until one is answered.
    const rejections = yield* Ref.make<ReadonlyArray<Rejection>>([])
    const counts = Effect.all({
      backlog: outbox.backlog,
      dropped: outbox.dropped,
      applied: assigned.applied,
      rejected: Effect.map(Ref.get(rejections), (pending) => pending.slice(0, maxOpsPerReply))
    })
    /** After an answered request: its rejections reached the server. */
    const reported = (sent: ReadonlyArray<Rejection>) => Ref.update(rejections, (pending) => pending.slice(sent.length))

    /**
     * Applies the ops a reply carries; true while the server holds more than the edge has applied
     * or there are rejections to report (the next request then goes at once).
     * A store failure is logged and leaves the version where it was: the next request gets the
     * same ops again, and the outbox keeps flowing meanwhile.
     */
    const takeAssignments = (assignments: Assignments) =>
      Effect.gen(function* () {
        if (assignments.ops.length === 0 && !assignments.reset) return (yield* assigned.applied) < assignments.latest
        const { applied, rejected } = yield* assigned.apply(assignments.ops, assignments.reset)
        const pending = yield* Ref.updateAndGet(rejections, (sofar) => [...sofar, ...rejected])
        return applied < assignments.latest || pending.length > 0
      }).pipe(
        Effect.catchAllDefect((defect) =>
          Effect.as(
            Effect.logError("edge assignments not applied; asked for again with the next request").pipe(
              Effect.annotateLogs({ error: String(defect) })
            ),
            false
          )
        )
      )

    // with CURVE the hello also proves our key, which the hub may accept instead of a token
    const proof = options.curve == null ? undefined : makeProof(options.curve, helloProofMessage(options.edgeId))
    const credential = {
      ...(options.token !== null && { token: options.token }),
      ...(options.curve != null && proof !== undefined && { curveKey: options.curve.publicKey, proof })
    }

    const register = Effect.gen(function* () {
      yield* Queue.takeAll(replies)
      const sentAt = clock.unsafeCurrentTimeMillis()
      const { backlog, dropped, applied, rejected } = yield* counts
      const welcome = yield* request((ref) => ({
        _tag: "hello", ref, edgeId: options.edgeId, ...credential, sentAt, backlog, dropped, applied, rejected
      }))
      if (welcome._tag !== "welcome") return yield* new SessionEnded({ reason: `expected welcome, got ${welcome._tag}` })
      yield* reported(rejected)
      const clockSkewMs = Math.round((sentAt + clock.unsafeCurrentTimeMillis()) / 2 - welcome.serverTime)
      yield* outbox.acknowledge(welcome.received)
      yield* Ref.set(status, { connected: true, clockSkewMs, lastError: null })
      yield* Effect.logInfo("upstream connected").pipe(
        Effect.annotateLogs({
          endpoint: options.endpoint, backlog, clockSkewMs, serverHolds: welcome.received,
          applied, latestAssignment: welcome.assignments.latest
        })
      )
      return yield* takeAssignments(welcome.assignments)
    })

    /** `behind`: the server holds assignment ops the edge has not applied, so the next request goes at once. */
    const deliver = (behindAtStart: boolean) =>
      Effect.gen(function* () {
        let behind = behindAtStart
        let lastRequestAt = clock.unsafeCurrentTimeMillis()
        while (true) {
          const rows = yield* outbox.next(options.batchSize)
          if (rows.length > 0 || behind || clock.unsafeCurrentTimeMillis() - lastRequestAt >= options.heartbeatIntervalMs) {
            const { backlog, dropped, applied, rejected } = yield* counts
            const ack = yield* request((ref) =>
              rows.length > 0
                ? { _tag: "rows", ref, rows, backlog, dropped, applied, rejected }
                : { _tag: "heartbeat", ref, backlog, dropped, applied, rejected }
            )
            yield* reported(rejected)
            if (ack._tag === "ack") {
              yield* outbox.acknowledge(ack.received)
              behind = yield* takeAssignments(ack.assignments)
            }
            lastRequestAt = clock.unsafeCurrentTimeMillis()
          } else {
            yield* Effect.sleep(options.pollIntervalMs)
          }
        }
      })

    const session = Effect.flatMap(register, deliver)

    const run = Effect.gen(function* () {
      let failures = 0
      while (true) {
        const ended = yield* Effect.flip(session)
        const wasConnected = (yield* Ref.get(status)).connected
        failures = wasConnected ? 1 : failures + 1
        const delay = Math.min(options.backoffMaxMs, options.backoffInitialMs * 2 ** (failures - 1))
        yield* Ref.update(status, (s) => ({ ...s, connected: false, lastError: ended.reason }))
        // the first failure and a lost link are worth a warning; retries of an absent link are not
        yield* (wasConnected || failures === 1 ? Effect.logWarning : Effect.logDebug)("upstream session ended").pipe(
          Effect.annotateLogs({ reason: ended.reason, retryInMs: delay })
        )
        yield* Effect.sleep(delay)
        yield* reconnectIfRefused
      }
    })
    yield* Effect.forkScoped(run)
    yield* Effect.forkScoped(
      Effect.suspend(() => outbox.trim(clock.unsafeCurrentTimeMillis())).pipe(
        Effect.zipRight(Effect.sleep(options.trimIntervalMs)),
        Effect.forever
      )
    )
    return { status: Ref.get(status), backlog: outbox.backlog, dropped: outbox.dropped, applied: assigned.applied }
  })

export const layer = (options: UpstreamOptions): Layer.Layer<Upstream, never, SqlClient.SqlClient | DataStore> =>
  Layer.scoped(Upstream, make(options))
