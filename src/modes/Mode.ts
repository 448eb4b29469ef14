/**
 * A mode is a function from a validated deployment to the layer of components
 * it runs. Every mode provides the core services below, so whatever sits on top
 * (the CLI's run command now; the portal later) works the same in each.
 */
import type { FileSystem, Path } from "@effect/platform"
import type { Layer } from "effect"
import type { ConfigError } from "../config/ConfigError.js"
import type { ModeName } from "../config/DeploymentConfig.js"
import type { Deployment } from "../config/load.js"
import type { DataStore } from "../services/DataStore.js"
import type { EventBroker } from "../services/EventBroker.js"
import type { HandlerRegistry } from "../services/HandlerRegistry.js"
import type { Scheduler } from "../services/Scheduler.js"
import type { BoundAddresses } from "./BoundAddresses.js"
import type { ComponentFailed } from "./StartupError.js"

/** The services every running mode provides (BoundAddresses: where its components listen, if anywhere). */
export type CoreServices = Scheduler | DataStore | EventBroker | HandlerRegistry | BoundAddresses

/**
 * Whether each optional component runs when its config section does not say
 * (`<section>.enabled`). The scheduler, store, local handlers and the local
 * event broker always run.
 */
export interface ComponentDefaults {
  /** HTTP API and dashboard (`portal.enabled`). */
  readonly portal: boolean
  /** The ZeroMQ registry remote handler processes connect to (`handlers.remote.enabled`). */
  readonly remoteHandlers: boolean
  /** Supervision of the declared handler processes (`governor.enabled`). */
  readonly governor: boolean
  /** Events an in-process subscriber may fall behind before it loses the oldest (the local broker's buffer). */
  readonly eventBuffer: number
}

/** What stops a deployment from starting; each names its source (file and key, or component). */
export type StartupError = ConfigError | ComponentFailed

/** What building a mode may need from the platform (reading handler modules, later databases). */
export type ModeRequirements = FileSystem.FileSystem | Path.Path

export interface ModeDefinition {
  readonly name: ModeName
  /** One line for logs and `--help`: which components this mode runs. */
  readonly summary: string
  readonly defaults: ComponentDefaults
  /** Once started, favour a small heap over speed (memory.ts): for edge boxes that mostly idle. */
  readonly smallHeap: boolean
  readonly layer: (deployment: Deployment) => Layer.Layer<CoreServices, StartupError, ModeRequirements>
}
