/**
 * Runs a handler process: connects a DEALER socket to the server, registers,
 * heartbeats, runs jobs, and registers again whenever the server forgets it
 * (restart) or falls silent, backing off between attempts; ZeroMQ reconnects
 * the socket itself. Interrupting runHandler stops gracefully: deregister,
 * let running jobs finish (cancel them after `stopGracePeriod`), send their
 * results, close.
 */
import * as os from "node:os"
import { Clock, Deferred, Duration, Effect, Runtime, Schema } from "effect"
import * as zmq from "zeromq"
import { decodeServerFrames } from "../protocol/framing.js"
import { makeKeyProof } from "../protocol/keyProof.js"
import { protocolVersion, RejectReason, type ServerMessage } from "../protocol/messages.js"
import { makeOutbox, readFrames } from "../protocol/socketLoops.js"
import { type HandlerDefinition, methodSpecs } from "./defineHandler.js"
import { makeJobTable } from "./jobs.js"
import { type DealerSocket, tcpAddress, ZmtpDealer, type ZmtpConnectionFailed } from "./zmtp.js"

export interface CurveClientKeys {
  /** The server's public key (Z85). */
  readonly serverPublicKey: string
  readonly publicKey: string
  readonly secretKey: string
}

export interface RunHandlerOptions {
  /** The server's ROUTER endpoint, e.g. tcp://127.0.0.1:4242. */
  readonly endpoint: string
  /** The handler id's token; null/absent when the deployment asks for none. */
  readonly credential?: string | null
  /** Unique per process (default `<id>-<host>-<pid>-<random>`). */
  readonly instanceId?: string
  /** CURVE keys when the deployment encrypts the channel. */
  readonly curve?: CurveClientKeys | null
  /** How long a graceful stop waits for running jobs before cancelling them (default 30 s). */
  readonly stopGracePeriod?: Duration.DurationInput
  /** Register retry backoff: first delay and cap (default 100 ms, 5 s). */
  readonly registerBackoff?: { readonly initial: Duration.DurationInput; readonly max: Duration.DurationInput }
}

/** The server refused this handler for good (bad credential, unknown id, wrong version). */
export class HandlerRejected extends Schema.TaggedError<HandlerRejected>()("HandlerRejected", {
  reason: RejectReason,
  detail: Schema.String
}) {
  override get message() {
    return `server rejected the handler (${this.reason}): ${this.detail}`
  }
}

/** The instance id cannot be the connection's ZMTP routing id (libzmq's limits), so no server could tell it apart. */
export class InvalidInstanceId extends Schema.TaggedError<InvalidInstanceId>()("InvalidInstanceId", {
  instanceId: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `instance id ${JSON.stringify(this.instanceId)} ${this.reason}`
  }
}

/** Why `instanceId` cannot be a routing id: 1 to 255 bytes, not starting with a zero byte (ids the ROUTER makes up). */
const routingIdProblem = (instanceId: string): string | undefined => {
  const bytes = Buffer.byteLength(instanceId)
  if (bytes < 1 || bytes > 255) return `has ${bytes} bytes; a routing id has 1 to 255`
  if (instanceId.charCodeAt(0) === 0) return "starts with a zero byte (reserved for routing ids the server generates)"
  return undefined
}

const keyCredential = (curve: CurveClientKeys, handlerId: string, instanceId: string) => {
  const keyProof = makeKeyProof(curve, handlerId, instanceId)
  return keyProof === undefined ? {} : { curvePublicKey: curve.publicKey, keyProof }
}

const defaultInstanceId = (handlerId: string): string =>
  `${handlerId}-${os.hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`

const assumedIntervalMs = 1000

/**
 * The connection to the server: a plain tcp:// endpoint gets the SDK's own ZMTP
 * DEALER (no I/O thread, see zmtp.ts); CURVE and other transports get libzmq's.
 */
const openDealer = (
  endpoint: string,
  routingId: string,
  curve: CurveClientKeys | null,
  reconnectIntervalMs: number,
  reconnectMaxIntervalMs: number,
  onError: (error: ZmtpConnectionFailed) => void
): DealerSocket => {
  const address = curve === null ? tcpAddress(endpoint) : undefined
  if (address !== undefined) {
    return new ZmtpDealer(address, { routingId, reconnectIntervalMs, reconnectMaxIntervalMs, onError })
  }
  const dealer = new zmq.Dealer({
    linger: 0,
    routingId,
    reconnectInterval: reconnectIntervalMs,
    reconnectMaxInterval: reconnectMaxIntervalMs,
    sendHighWaterMark: 0,
    ...(curve === null
      ? {}
      : { curveServerKey: curve.serverPublicKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey })
  })
  dealer.connect(endpoint)
  return dealer
}

export const runHandler = (
  handler: HandlerDefinition,
  options: RunHandlerOptions
): Effect.Effect<never, HandlerRejected | InvalidInstanceId> =>
  Effect.scoped(Effect.gen(function*() {
    const instanceId = options.instanceId ?? defaultInstanceId(handler.id)
    const problem = routingIdProblem(instanceId)
    if (problem !== undefined) return yield* new InvalidInstanceId({ instanceId, reason: problem })
    const backoffInitialMs = Duration.toMillis(options.registerBackoff?.initial ?? "100 millis")
    const backoffMaxMs = Duration.toMillis(options.registerBackoff?.max ?? "5 seconds")
    const curve = options.curve ?? null
    const runtime = yield* Effect.runtime<never>()
    // Each distinct failure once until a frame set comes in: a wrong port or a CURVE server would otherwise loop silently.
    const onConnectionError = (error: ZmtpConnectionFailed) =>
      Runtime.runFork(runtime)(
        Effect.logWarning(`connection to the server failed: ${error.reason}; reconnecting`).pipe(
          Effect.annotateLogs({ handlerId: handler.id, instanceId, endpoint: error.endpoint })
        )
      )
    const socket = yield* Effect.acquireRelease(
      Effect.sync(() => openDealer(options.endpoint, instanceId, curve, backoffInitialMs, backoffMaxMs, onConnectionError)),
      (dealer) => Effect.sync(() => dealer.closed || dealer.close())
    )
    const outbox = yield* makeOutbox<null>(() => "", (_, frames) => socket.send(frames))
    const jobs = makeJobTable(handler, runtime, (encoded) => outbox.post(null, encoded))
    const fatal = yield* Deferred.make<never, HandlerRejected>()
    const clock = yield* Effect.clock

    const register = {
      type: "register",
      protocol: protocolVersion,
      handlerId: handler.id,
      instanceId,
      methods: methodSpecs(handler),
      concurrency: handler.concurrency ?? 1,
      credential: options.credential ?? null,
      // With CURVE the register also proves our key, which a deployment may accept instead of a token.
      ...(curve === null ? {} : keyCredential(curve, handler.id, instanceId))
    }
    let registered = false
    let stopping = false
    // Past the wait for running jobs: a run that still arrives is refused, not started.
    let closing = false
    let intervalMs = assumedIntervalMs
    let missed = 3
    let lastHeardMs = yield* Clock.currentTimeMillis
    let backoffMs = backoffInitialMs
    let dropped = 0

    /** Acts on one message now; returns what else must happen, if anything. */
    const onMessage = (message: ServerMessage): Effect.Effect<void> | undefined => {
      switch (message.type) {
        case "run":
          // A run sent before the server read our deregister is still run (the stop waits for it).
          if (closing) {
            outbox.post(null, {
              type: "result",
              jobId: message.jobId,
              attempt: message.attempt,
              ok: false,
              error: { tag: "HandlerStopping", message: `instance '${instanceId}' is stopping` }
            })
          } else jobs.start(message)
          return undefined
        case "cancel":
          jobs.cancel(message.jobId, message.attempt)
          return undefined
        case "heartbeat":
          return undefined
        case "accepted":
          registered = true
          intervalMs = message.heartbeatIntervalMs
          missed = message.missedHeartbeats
          backoffMs = backoffInitialMs
          return Effect.logInfo("handler registered").pipe(
            Effect.annotateLogs({ handlerId: handler.id, instanceId, endpoint: options.endpoint })
          )
        case "rejected":
          if (message.reason !== "not_registered") {
            return Deferred.fail(fatal, new HandlerRejected({ reason: message.reason, detail: message.message }))
          }
          if (stopping) return undefined
          // The server no longer knows us: it has given up our jobs, so stop them and register again.
          registered = false
          jobs.orphanAll()
          outbox.post(null, register)
          return Effect.logInfo("server does not know this instance; registering again").pipe(
            Effect.annotateLogs({ handlerId: handler.id, instanceId })
          )
      }
    }

    /** Applies a frame set at once; returns what else must happen (logs, a rejection), if anything. */
    const onFrameSet = (frames: Array<Buffer>): Effect.Effect<void> | undefined => {
      lastHeardMs = clock.unsafeCurrentTimeMillis()
      const decoded = decodeServerFrames(frames)
      const effects: Array<Effect.Effect<void>> = []
      for (const message of decoded.messages) {
        const followUp = onMessage(message)
        if (followUp !== undefined) effects.push(followUp)
      }
      if (decoded.drops.length > 0) {
        dropped += decoded.drops.length
        effects.push(
          Effect.logWarning(`dropped ${decoded.drops.length} frame(s) from the server`).pipe(
            Effect.annotateLogs({
              peer: options.endpoint,
              droppedTotal: dropped,
              problems: decoded.drops.slice(0, 5).map((drop) => `${drop.reason}: ${drop.detail}`)
            })
          )
        )
      }
      return effects.length === 0 ? undefined : Effect.all(effects, { discard: true })
    }

    // Heartbeats while registered; otherwise register again, backing off.
    const keepAlive = Effect.gen(function*() {
      while (true) {
        yield* Effect.sleep(Duration.millis(registered ? intervalMs : backoffMs))
        if (stopping) {
          outbox.post(null, { type: "heartbeat" })
          continue
        }
        const nowMs = yield* Clock.currentTimeMillis
        if (registered && nowMs - lastHeardMs > intervalMs * missed) {
          registered = false
          yield* Effect.logWarning("server silent; registering again").pipe(
            Effect.annotateLogs({ handlerId: handler.id, instanceId, silentMs: nowMs - lastHeardMs })
          )
        }
        if (registered) outbox.post(null, { type: "heartbeat" })
        else {
          outbox.post(null, register)
          backoffMs = Math.min(backoffMaxMs, backoffMs * 2)
        }
      }
    })

    yield* Effect.forkScoped(outbox.drain)
    yield* Effect.forkScoped(readFrames(socket, onFrameSet))
    outbox.post(null, register)
    yield* Effect.forkScoped(keepAlive)
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        stopping = true
        outbox.post(null, { type: "deregister" })
        yield* Effect.logInfo("handler stopping: finishing running jobs").pipe(
          Effect.annotateLogs({ handlerId: handler.id, instanceId, running: jobs.size() })
        )
        // Finalizers run uninterruptibly: each bounded wait is made interruptible so its timeout can end it.
        const finished = yield* Effect.interruptible(jobs.idle).pipe(
          Effect.timeout(options.stopGracePeriod ?? "30 seconds"),
          Effect.option
        )
        if (finished._tag === "None") {
          jobs.cancelAll()
          // A Promise method that ignores its abort signal cannot be waited for forever.
          yield* Effect.interruptible(jobs.idle).pipe(Effect.timeout("5 seconds"), Effect.ignore)
        }
        closing = true
        yield* Effect.interruptible(outbox.flushed).pipe(Effect.timeout("2 seconds"), Effect.ignore)
        // Closed before the loops are interrupted: a send still waiting for a peer (the server
        // never answered) is rejected at once instead of holding the loop's interruption up.
        socket.close()
      })
    )
    return yield* Deferred.await(fatal)
  }))
