/**
 * The zmq registry's server: one ROUTER socket, a fiber reading it, a fiber
 * writing batched frame sets, and two timers (heartbeats out, liveness
 * checks). Incoming frame sets are decoded, bad frames dropped and counted
 * with a log line naming the peer, and each message applied to the pools.
 */
import { Clock, Deferred, Duration, Effect, Exit, Fiber, FiberId, Option, Runtime, Schedule, type Scope } from "effect"
import * as zmq from "zeromq"
import { HandlerFailed, HandlerNotFound, HandlerOffline, MethodNotFound } from "../../../domain/errors.js"
import {
  HandlerOffline as HandlerOfflineEvent,
  type HandlerOfflineReason,
  HandlerOnline,
  type SchedulerEvent
} from "../../../domain/events.js"
import type { Job } from "../../../domain/Job.js"
import type { Task } from "../../../domain/Task.js"
import { bindScoped, bindScopedWith } from "../../../protocol/bindScoped.js"
import { decodeHandlerFrames, type DropReason } from "../../../protocol/framing.js"
import { keyProofMatches } from "../../../protocol/keyProof.js"
import { type HandlerMessage, type RejectReason, type Register, supportedProtocolVersions } from "../../../protocol/messages.js"
import { makeOutbox, readFrames } from "../../../protocol/socketLoops.js"
import { EventBroker } from "../../../services/EventBroker.js"
import { HandlerDirectory, HandlerInstanceRecord } from "../../../services/HandlerDirectory.js"
import type { HandlerInfo, HandlerRegistryShape } from "../../../services/HandlerRegistry.js"
import { parseTokenHash, tokenMatches } from "./credentials.js"
import {
  awaitOutcome,
  type Instance,
  instanceInfo,
  knownMethods,
  makeDispatcher,
  type Pending,
  pick,
  type Pool,
  poolStatus,
  type RunFailure,
  type Waiter
} from "./Pools.js"
import { type ResolvedZmqOptions, ZmqRegistryError, type ZmqRegistryShape, type ZmqRegistryStats } from "./options.js"
import { serveAllowList } from "./zap.js"
import { bindAddress, ZmtpRouter } from "./ZmtpRouter.js"

/** A routing id as people read it: text when printable (the SDK uses the instance id), else hex. */
export const describePeer = (peer: Buffer): string => {
  const text = peer.toString("latin1")
  return /^[\x20-\x7e]+$/.test(text) ? text : `0x${peer.toString("hex")}`
}

const peerKey = (peer: Buffer): string => peer.toString("latin1")

/** What the registry needs of its ROUTER: libzmq's or ZmtpRouter. */
interface RouterSocket {
  readonly lastEndpoint: string | null
  receive(): Promise<Array<Buffer>>
  send(frames: Array<Buffer | string>): Promise<void>
}

/**
 * The ROUTER handlers connect to, bound for the registry's scope: our own ZMTP
 * one (ZmtpRouter.ts) on a plain tcp:// endpoint without CURVE, else libzmq's.
 */
const openRouter = (
  options: ResolvedZmqOptions,
  context: zmq.Context,
  onDrop: (peer: string, reason: string) => void
): Effect.Effect<RouterSocket, ZmqRegistryError, Scope.Scope> => {
  const address = options.curve === null ? bindAddress(options.endpoint) : undefined
  if (address !== undefined) {
    return bindScopedWith(
      () => new ZmtpRouter({ maxMessageBytes: options.maxFrameBytes * 16, onDrop }),
      (router) => router.bind(address),
      options.endpoint,
      (reason) => new ZmqRegistryError({ reason })
    )
  }
  return bindScoped(
    () =>
      new zmq.Router({
        context,
        linger: 0,
        // A ROUTER drops at its high-water mark; capacity already bounds what is queued.
        sendHighWaterMark: 0,
        maxMessageSize: options.maxFrameBytes * 16,
        ...(options.curve === null
          ? {}
          : { curveServer: true, curveSecretKey: options.curve.secretKey, zapDomain: "schedulezero" })
      }),
    options.endpoint,
    (reason) => new ZmqRegistryError({ reason })
  )
}

export const make = (
  options: ResolvedZmqOptions
): Effect.Effect<HandlerRegistryShape & ZmqRegistryShape, ZmqRegistryError, Scope.Scope | HandlerDirectory> =>
  Effect.gen(function*() {
    const directory = yield* HandlerDirectory
    const intervalMs = Duration.toMillis(options.heartbeatInterval)
    const offlineAfterMs = intervalMs * options.missedHeartbeats
    const staleAfterMs = intervalMs * 1.5

    const digests = new Map<string, Buffer>()
    for (const [handlerId, stored] of Object.entries(options.credentials)) {
      const digest = parseTokenHash(stored)
      if (digest === undefined) {
        return yield* new ZmqRegistryError({
          reason: `credential of handler '${handlerId}' must be 'sha256:' followed by 64 hex digits`
        })
      }
      digests.set(handlerId, digest)
    }
    const curveKeys = new Map(Object.entries(options.curveKeys))
    if (curveKeys.size > 0 && options.curve === null) {
      return yield* new ZmqRegistryError({
        reason: `CURVE keys are bound to handler ids (${Array.from(curveKeys.keys()).join(", ")}) but CURVE is off`
      })
    }

    const pools = new Map<string, Pool>()
    const peers = new Map<string, Instance>()
    const poolOf = (handlerId: string): Pool => {
      const existing = pools.get(handlerId)
      if (existing !== undefined) return existing
      const pool: Pool = { handlerId, instances: new Map(), waiters: new Set() }
      pools.set(handlerId, pool)
      return pool
    }
    for (const handlerId of [...digests.keys(), ...curveKeys.keys()]) poolOf(handlerId)
    for (const record of yield* directory.list()) {
      // Left online by a server that stopped without retiring it: offline until it registers again.
      if (record.status === "online") yield* directory.save(new HandlerInstanceRecord({ ...record, status: "offline" }))
      poolOf(record.handlerId).instances.set(record.instanceId, {
        handlerId: record.handlerId,
        instanceId: record.instanceId,
        peer: null,
        methods: record.methods,
        methodNames: new Set(record.methods.map((method) => method.name)),
        capacity: record.capacity,
        status: "offline",
        draining: false,
        lastSeenMs: null,
        registeredAtMs: record.registeredAt.getTime(),
        inFlight: new Map(),
        framing: 1
      })
    }

    const dropped: Record<DropReason | "unexpected" | "protocol", number> = {
      bad_header: 0,
      oversized: 0,
      too_many_frames: 0,
      not_json: 0,
      invalid_message: 0,
      unexpected: 0,
      protocol: 0
    }
    let rejected = 0

    let refusedConnections = 0
    // A context of its own: the CURVE allow-list's ZAP handler is per context.
    const context = new zmq.Context()
    const allowed = options.curve?.allowedPublicKeys ?? null
    if (allowed !== null) {
      yield* serveAllowList(context, new Set(allowed), (refusal) => {
        refusedConnections++
        return Effect.logWarning("handler connection refused: CURVE key not allowed").pipe(
          Effect.annotateLogs({ address: refusal.address, publicKey: refusal.publicKey ?? `(${refusal.mechanism})` })
        )
      }).pipe(Effect.mapError((error) => new ZmqRegistryError({ reason: error.message })))
    }
    // Connections our own ROUTER closed for breaking ZMTP: counted, and logged at most
    // `dropLogsPerSecond` a second (a flood of them must not become a flood of log lines).
    const runtime = yield* Effect.runtime<never>()
    const dropLogsPerSecond = 10
    let dropLogWindowMs = 0
    let dropLogsInWindow = 0
    let dropLogsSuppressed = 0
    const onConnectionDropped = (peer: string, reason: string) => {
      dropped.protocol++
      const nowMs = Date.now()
      if (nowMs - dropLogWindowMs >= 1000) {
        dropLogWindowMs = nowMs
        dropLogsInWindow = 0
      }
      if (dropLogsInWindow >= dropLogsPerSecond) {
        dropLogsSuppressed++
        return
      }
      dropLogsInWindow++
      const suppressed = dropLogsSuppressed
      dropLogsSuppressed = 0
      Runtime.runFork(runtime)(
        Effect.logWarning(`handler connection dropped: ${reason}`).pipe(
          Effect.annotateLogs({ peer, reason, ...(suppressed > 0 ? { notLogged: suppressed } : {}) })
        )
      )
    }
    const socket = yield* openRouter(options, context, onConnectionDropped)
    const endpoint = socket.lastEndpoint ?? options.endpoint
    // A peer that has not registered yet is answered in protocol 1's framing, which every version reads.
    const outbox = yield* makeOutbox<Buffer>(
      peerKey,
      (peer, frames) => socket.send([peer, ...frames]),
      (peer) => peers.get(peerKey(peer))?.framing ?? 1
    )

    const clock = yield* Effect.clock
    const dispatcher = makeDispatcher((instance, job, task) => {
      if (instance.peer === null) return
      outbox.post(instance.peer, {
        type: "run",
        jobId: job.id,
        attempt: job.attempt,
        method: task.method,
        args: job.args,
        kwargs: job.kwargs,
        deadline: task.timeoutMs === null ? null : new Date(clock.unsafeCurrentTimeMillis() + task.timeoutMs).toISOString()
      })
    })

    const save = (instance: Instance, nowMs: number) =>
      directory.save(
        new HandlerInstanceRecord({
          handlerId: instance.handlerId,
          instanceId: instance.instanceId,
          methods: instance.methods.map((method) => ({ name: method.name, params: method.params ?? null })),
          capacity: instance.capacity,
          status: instance.status === "offline" ? "offline" : "online",
          registeredAt: new Date(instance.registeredAtMs),
          lastSeenAt: new Date(nowMs)
        })
      )

    // handler.online / handler.offline on the event stream, when the deployment has a broker.
    const broker = yield* Effect.serviceOption(EventBroker)
    const announce = (event: SchedulerEvent): Effect.Effect<void> =>
      Option.isSome(broker) ? broker.value.publish(event) : Effect.void
    const onlineCount = (handlerId: string): number => {
      let count = 0
      for (const instance of poolOf(handlerId).instances.values()) if (instance.peer !== null) count++
      return count
    }

    /** Takes the instance off its connection; its runs fail with HandlerLost. */
    const retire = (instance: Instance, nowMs: number, reason: HandlerOfflineReason) => {
      const wasOnline = instance.peer !== null
      const lost = dispatcher.lose(instance)
      if (instance.peer !== null && peers.get(peerKey(instance.peer)) === instance) peers.delete(peerKey(instance.peer))
      instance.peer = null
      instance.draining = false
      const saved = Effect.as(save(instance, nowMs), lost)
      if (!wasOnline) return saved
      const offline = new HandlerOfflineEvent({
        timestamp: new Date(nowMs),
        handlerId: instance.handlerId,
        instanceId: instance.instanceId,
        reason,
        instancesOnline: onlineCount(instance.handlerId)
      })
      return Effect.zipLeft(saved, announce(offline))
    }

    const reject = (peer: Buffer, reason: RejectReason, message: string, register?: Register) => {
      rejected++
      outbox.post(peer, { type: "rejected", reason, message })
      return Effect.logWarning(`handler register rejected: ${message}`).pipe(
        Effect.annotateLogs({
          peer: describePeer(peer),
          reason,
          ...(register === undefined ? {} : { handlerId: register.handlerId, instanceId: register.instanceId })
        })
      )
    }

    const credentialProblem = (register: Register): [RejectReason, string] | undefined => {
      if (!supportedProtocolVersions.includes(register.protocol)) {
        return [
          "unsupported_version",
          `protocol ${register.protocol} is not supported (this server speaks ${supportedProtocolVersions.join(" and ")})`
        ]
      }
      const digest = digests.get(register.handlerId)
      const boundKey = curveKeys.get(register.handlerId)
      if (digest === undefined && boundKey === undefined) {
        return options.allowUnauthenticated
          ? undefined
          : ["unknown_handler", `handler '${register.handlerId}' is not configured in this deployment`]
      }
      // Either configured credential admits the id: its token, or proof of holding its CURVE key.
      if (digest !== undefined && register.credential !== null && tokenMatches(register.credential, digest)) return undefined
      if (
        boundKey !== undefined && options.curve !== null && register.curvePublicKey === boundKey &&
        register.keyProof !== undefined &&
        keyProofMatches(options.curve.secretKey, boundKey, register.keyProof, register.handlerId, register.instanceId)
      ) return undefined
      return ["bad_credential", `credential for handler '${register.handlerId}' does not match`]
    }

    const onRegister = (peer: Buffer, register: Register, nowMs: number): Effect.Effect<void> => {
      const problem = credentialProblem(register)
      if (problem !== undefined) return reject(peer, problem[0], problem[1], register)
      const effects: Array<Effect.Effect<unknown>> = []
      const key = peerKey(peer)
      const pool = poolOf(register.handlerId)
      let instance = pool.instances.get(register.instanceId)
      const previous = peers.get(key)
      if (previous !== undefined && previous !== instance) effects.push(retire(previous, nowMs, "replaced"))
      const cameOnline = instance === undefined || instance.peer === null
      if (instance === undefined) {
        instance = {
          handlerId: register.handlerId,
          instanceId: register.instanceId,
          peer,
          methods: register.methods,
          methodNames: new Set(),
          capacity: register.concurrency,
          status: "online",
          draining: false,
          lastSeenMs: nowMs,
          registeredAtMs: nowMs,
          inFlight: new Map(),
          framing: 1
        }
        pool.instances.set(register.instanceId, instance)
      } else if (instance.peer !== null && peerKey(instance.peer) !== key) {
        // The same instance on a new connection (it reconnected): its runs follow it.
        peers.delete(peerKey(instance.peer))
      }
      instance.peer = peer
      instance.framing = register.protocol === 1 ? 1 : 2
      instance.methods = register.methods
      instance.methodNames = new Set(register.methods.map((method) => method.name))
      instance.capacity = register.concurrency
      instance.status = "online"
      instance.draining = false
      instance.lastSeenMs = nowMs
      if (instance.inFlight.size === 0) instance.registeredAtMs = nowMs
      peers.set(key, instance)
      outbox.post(peer, {
        type: "accepted",
        instanceId: instance.instanceId,
        heartbeatIntervalMs: intervalMs,
        missedHeartbeats: options.missedHeartbeats
      })
      dispatcher.serve(pool)
      if (cameOnline) {
        effects.push(announce(
          new HandlerOnline({
            timestamp: new Date(nowMs),
            handlerId: instance.handlerId,
            instanceId: instance.instanceId,
            instancesOnline: onlineCount(instance.handlerId)
          })
        ))
      }
      effects.push(
        save(instance, nowMs),
        Effect.logInfo("handler instance registered").pipe(
          Effect.annotateLogs({
            handlerId: instance.handlerId,
            instanceId: instance.instanceId,
            peer: describePeer(peer),
            methods: instance.methods.map((method) => method.name),
            concurrency: instance.capacity
          })
        )
      )
      return Effect.all(effects, { discard: true })
    }

    /** Applies a frame set at once; returns what else must happen (logs, directory writes), if anything. */
    const onFrameSet = (frames: Array<Buffer>): Effect.Effect<void> | undefined => {
      const nowMs = clock.unsafeCurrentTimeMillis()
      const peer = frames[0]!
      const decoded = decodeHandlerFrames(frames.slice(1), options.maxFrameBytes)
      const effects: Array<Effect.Effect<void>> = []
      const problems: Array<string> = []
      for (const drop of decoded.drops) {
        dropped[drop.reason]++
        problems.push(`${drop.reason}: ${drop.detail}`)
        if (drop.type === "register") {
          effects.push(reject(peer, "invalid_register", `invalid register message (${drop.detail})`))
        }
      }
      let instance = peers.get(peerKey(peer))
      if (instance !== undefined && decoded.messages.length > 0) {
        instance.lastSeenMs = nowMs
        if (instance.status === "stale") {
          instance.status = "online"
          dispatcher.serve(poolOf(instance.handlerId))
        }
      }
      let completed = 0
      let unknownPeerTold = false
      for (const message of decoded.messages as ReadonlyArray<HandlerMessage>) {
        if (message.type === "register") {
          effects.push(onRegister(peer, message, nowMs))
          instance = peers.get(peerKey(peer))
          continue
        }
        if (instance === undefined) {
          dropped.unexpected++
          problems.push(`unexpected ${message.type} from an unregistered peer`)
          if (!unknownPeerTold) {
            unknownPeerTold = true
            outbox.post(peer, { type: "rejected", reason: "not_registered", message: "register first" })
          }
          continue
        }
        switch (message.type) {
          case "heartbeat":
            break
          case "result": {
            const exit = message.ok
              ? Exit.succeed(message.value ?? null)
              : Exit.fail(new HandlerFailed({ tag: message.error.tag, message: message.error.message }))
            if (dispatcher.complete(instance, message.jobId, message.attempt, exit)) completed++
            else {
              dropped.unexpected++
              problems.push(`result for job ${message.jobId} attempt ${message.attempt}, which is not in flight there`)
            }
            break
          }
          case "deregister":
            instance.draining = true
            effects.push(
              Effect.logInfo("handler instance deregistering").pipe(
                Effect.annotateLogs({ handlerId: instance.handlerId, instanceId: instance.instanceId })
              )
            )
            break
        }
      }
      if (instance !== undefined) {
        if (instance.draining && instance.inFlight.size === 0) effects.push(Effect.asVoid(retire(instance, nowMs, "drained")))
        else if (completed > 0) dispatcher.serve(poolOf(instance.handlerId))
      }
      if (problems.length > 0) {
        effects.push(
          Effect.logWarning(`dropped ${problems.length} frame(s) from ${describePeer(peer)}`).pipe(
            Effect.annotateLogs({ peer: describePeer(peer), problems: problems.slice(0, 5) })
          )
        )
      }
      return effects.length === 0 ? undefined : Effect.all(effects, { discard: true })
    }

    const sendHeartbeats = Effect.sync(() => {
      for (const instance of peers.values()) if (instance.peer !== null) outbox.post(instance.peer, { type: "heartbeat" })
    })

    const checkPeriodMs = Math.max(1, intervalMs / 4)
    let lastCheckMs: number | null = null
    // Silence is counted from here at the earliest: when this process itself stalled (a
    // long GC, a starved CPU), frames may be waiting unread, so peers get a fresh window.
    let countSilenceFromMs = 0
    const checkLiveness = Effect.flatMap(Clock.currentTimeMillis, (nowMs) => {
      if (lastCheckMs !== null && nowMs - lastCheckMs > Math.max(2 * checkPeriodMs, intervalMs)) countSilenceFromMs = nowMs
      lastCheckMs = nowMs
      const effects: Array<Effect.Effect<void>> = []
      for (const instance of Array.from(peers.values())) {
        const silentMs = nowMs - Math.max(instance.lastSeenMs ?? nowMs, countSilenceFromMs)
        if (silentMs > offlineAfterMs) {
          effects.push(
            Effect.flatMap(retire(instance, nowMs, "heartbeat_lost"), (lost) =>
              Effect.logWarning("handler instance lost: missed heartbeats").pipe(
                Effect.annotateLogs({
                  handlerId: instance.handlerId,
                  instanceId: instance.instanceId,
                  silentMs,
                  jobsLost: lost
                })
              ))
          )
        } else if (silentMs > staleAfterMs && instance.status === "online") {
          instance.status = "stale"
        }
      }
      return Effect.all(effects, { discard: true })
    })

    yield* Effect.forkScoped(outbox.drain)
    yield* Effect.forkScoped(readFrames(socket, onFrameSet))
    yield* Effect.forkScoped(Effect.repeat(sendHeartbeats, Schedule.spaced(options.heartbeatInterval)))
    yield* Effect.forkScoped(
      Effect.repeat(checkLiveness, Schedule.spaced(Duration.millis(checkPeriodMs)))
    )
    // Runs still waiting when the registry stops end as lost rather than hanging.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const instance of peers.values()) dispatcher.lose(instance)
      })
    )
    yield* Effect.logInfo("zmq handler registry listening").pipe(Effect.annotateLogs({ endpoint }))

    /** Sends the run's cancel once; false when the run is no longer in flight. */
    const sendCancel = (pending: Pending): boolean => {
      const { instance } = pending
      if (instance.inFlight.get(pending.jobId) !== pending) return false
      if (!pending.cancelSent && instance.peer !== null) {
        pending.cancelSent = true
        outbox.post(instance.peer, { type: "cancel", jobId: pending.jobId, attempt: pending.attempt })
      }
      return true
    }

    const cancelAndWait = (pending: Pending): Effect.Effect<void> =>
      Effect.suspend(() => {
        sendCancel(pending)
        // The attempt is over only when the handler says so (or is lost): no retry overlaps it.
        return Effect.asVoid(Effect.exit(awaitOutcome(pending)))
      })

    /** The run's outcome; interrupting it cancels the run on the handler and waits for that to end it. */
    const awaitResult = (pending: Pending): Effect.Effect<unknown, RunFailure> =>
      Effect.async<unknown, RunFailure>((resume) => {
        if (pending.outcome !== undefined) return resume(pending.outcome)
        pending.resume = resume
        return cancelAndWait(pending)
      })

    const waitForInstance = (pool: Pool, job: Job, task: Task) =>
      Effect.gen(function*() {
        const nowMs = yield* Clock.currentTimeMillis
        const deadlineMs = job.startDeadline === null ? null : job.startDeadline.getTime()
        if (deadlineMs !== null && deadlineMs <= nowMs) return yield* new HandlerOffline({ handler: pool.handlerId })
        const settled = Deferred.unsafeMake<Pending, HandlerOffline | MethodNotFound>(FiberId.none)
        const waiter: Waiter = { job, task, settle: (exit) => Deferred.unsafeDone(settled, exit) }
        dispatcher.enqueue(pool, waiter)
        dispatcher.serve(pool)
        const timer = deadlineMs === null ? null : yield* Effect.fork(
          Effect.sleep(Duration.millis(deadlineMs - nowMs)).pipe(
            Effect.zipRight(Effect.sync(() => {
              if (dispatcher.dequeue(pool, waiter)) waiter.settle(Exit.fail(new HandlerOffline({ handler: pool.handlerId })))
            }))
          )
        )
        return yield* Deferred.await(settled).pipe(
          Effect.onInterrupt(() =>
            dispatcher.dequeue(pool, waiter)
              ? Effect.void
              : Effect.flatMap(Deferred.await(settled), cancelAndWait).pipe(Effect.ignore)
          ),
          Effect.ensuring(timer === null ? Effect.void : Fiber.interrupt(timer))
        )
      })

    const validate = (handler: string, method: string): Effect.Effect<Pool, HandlerNotFound | MethodNotFound> => {
      const pool = pools.get(handler)
      if (pool === undefined) return Effect.fail(new HandlerNotFound({ handler }))
      const methods = knownMethods(pool)
      return methods !== null && !methods.has(method)
        ? Effect.fail(new MethodNotFound({ handler, method }))
        : Effect.succeed(pool)
    }

    const run: HandlerRegistryShape["run"] = (job, task) =>
      Effect.flatMap(validate(task.handler, task.method), (pool) =>
        Effect.uninterruptibleMask((restore) => {
          const instance = pool.waiters.size === 0 ? pick(pool, task.method) : undefined
          const started = instance === undefined
            ? restore(waitForInstance(pool, job, task))
            : Effect.succeed(dispatcher.start(instance, job, task))
          return Effect.flatMap(started, (pending) => restore(awaitResult(pending)))
        }))

    // The hot path: an instance has a free slot and nothing queues before this run, so
    // it is sent now, in the caller's fiber, and only the wait for its result remains.
    const freeInstance = (task: Task): Instance | undefined => {
      const pool = pools.get(task.handler)
      return pool !== undefined && pool.waiters.size === 0 ? pick(pool, task.method) : undefined
    }

    const start: HandlerRegistryShape["start"] = (job, task) => {
      const instance = freeInstance(task)
      return instance === undefined ? run(job, task) : awaitResult(dispatcher.start(instance, job, task))
    }

    // The hotter path: no fiber waits; the result's message calls back.
    const startCallback: HandlerRegistryShape["startCallback"] = (job, task, onDone) => {
      const instance = freeInstance(task)
      if (instance === undefined) return undefined
      const pending = dispatcher.start(instance, job, task)
      pending.resume = onDone
      return { cancel: () => sendCancel(pending) }
    }

    const list = () =>
      Effect.sync(() =>
        Array.from(pools.values(), (pool): HandlerInfo => ({
          id: pool.handlerId,
          kind: "remote",
          methods: Array.from(knownMethods(pool) ?? []).sort(),
          status: poolStatus(pool),
          instances: Array.from(pool.instances.values(), instanceInfo)
        }))
      )

    const stats = Effect.sync((): ZmqRegistryStats => ({
      dropped: { ...dropped },
      droppedTotal: Object.values(dropped).reduce((a, b) => a + b, 0),
      rejected,
      refusedConnections
    }))

    return {
      validate: (handler, method) => Effect.asVoid(validate(handler, method)),
      run,
      start,
      startCallback,
      flush: outbox.flush,
      list,
      endpoint,
      stats
    }
  })
