/**
 * The governor component: starts the configured processes one after the
 * other (each has started before the next is spawned), supervises each in its
 * own fiber, and at shutdown stops them one at a time in reverse start order.
 * Startup fails, naming the process, when one cannot be spawned at all.
 */
import type { ChildProcess } from "node:child_process"
import { Clock, Deferred, Effect, Fiber, Layer, Ref } from "effect"
import type { GovernorSection } from "../../config/sections/governor.js"
import { Governor, type GovernorShape, ProcessStatus } from "../../services/Governor.js"
import { lastResortKill, type Launcher, makeLauncher, type SpawnFailed } from "./child.js"
import { fromConfig, type ProcessSpec } from "./options.js"
import { initialSnapshot, type Snapshot, supervise } from "./supervise.js"

const statusOf = (spec: ProcessSpec, snapshot: Snapshot, now: number) =>
  ProcessStatus.make({
    name: spec.name,
    command: [spec.command, ...spec.args],
    pid: snapshot.pid,
    state: snapshot.state,
    startedAt: snapshot.startedAt === null ? null : new Date(snapshot.startedAt),
    uptimeMs: snapshot.startedAt === null ? null : Math.max(0, now - snapshot.startedAt),
    restarts: snapshot.restarts,
    lastExit: snapshot.lastExit,
    gaveUp: snapshot.gaveUp
  })

/** Starts and supervises `specs`; `launcher` replaces real processes in tests. */
export const make = (specs: ReadonlyArray<ProcessSpec>, launcher?: Launcher) =>
  Effect.gen(function* () {
    const live = new Set<ChildProcess>()
    const killLeftovers = lastResortKill(live)
    // Added first, so removed last: a normal shutdown stops every child before.
    yield* Effect.acquireRelease(
      Effect.sync(() => process.on("exit", killLeftovers)),
      () => Effect.sync(() => process.off("exit", killLeftovers))
    )
    const launch = launcher ?? makeLauncher(live)
    const slots = yield* Effect.forEach(specs, (spec) => Effect.map(Ref.make(initialSnapshot), (ref) => ({ spec, ref })))
    const fibers: Array<Fiber.RuntimeFiber<void>> = []
    // Added before any process starts, so even a startup that fails halfway stops what it started.
    yield* Effect.addFinalizer(() => Effect.forEach([...fibers].reverse(), Fiber.interrupt, { discard: true }))
    for (const { spec, ref } of slots) {
      const started = yield* Deferred.make<void, SpawnFailed>()
      fibers.push(yield* Effect.forkDaemon(supervise(spec, ref, launch, started)))
      yield* Deferred.await(started)
    }
    if (specs.length > 0) yield* Effect.logInfo(`governor started ${specs.length} process(es)`)
    const status: GovernorShape["status"] = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      return yield* Effect.forEach(slots, ({ spec, ref }) => Effect.map(Ref.get(ref), (snapshot) => statusOf(spec, snapshot, now)))
    })
    return Governor.of({ status })
  })

/** Supervises `specs` while the layer is in use. */
export const layer = (specs: ReadonlyArray<ProcessSpec>, launcher?: Launcher): Layer.Layer<Governor, SpawnFailed> =>
  Layer.scoped(Governor, make(specs, launcher))

/** The governor of a deployment's `governor` section (cwds relative to `deploymentDir`). */
export const layerFromConfig = (section: GovernorSection, deploymentDir: string): Layer.Layer<Governor, SpawnFailed> =>
  layer(fromConfig(section, deploymentDir))
