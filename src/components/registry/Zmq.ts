/**
 * The `zmq` HandlerRegistry: remote handler processes connect to one ROUTER
 * socket, register their methods and run jobs sent to them (protocol in
 * docs/protocol.md). Also provides `ZmqRegistry` (bound endpoint, drop
 * counters). Needs a HandlerDirectory to remember handlers across restarts.
 */
import { Context, Effect, Layer } from "effect"
import type { HandlerDirectory } from "../../services/HandlerDirectory.js"
import { HandlerRegistry } from "../../services/HandlerRegistry.js"
import { resolveOptions, ZmqRegistry, type ZmqRegistryError, type ZmqRegistryOptions } from "./zmq/options.js"
import { make } from "./zmq/Server.js"

export { hashToken, generateToken } from "./zmq/credentials.js"
export { generateKeys, keysDir, readKey } from "./zmq/keys.js"
export * as MemoryDirectory from "./zmq/MemoryDirectory.js"
export {
  type CurveServerOptions,
  defaultEndpoint,
  ZmqRegistry,
  ZmqRegistryError,
  type ZmqRegistryOptions,
  type ZmqRegistryStats
} from "./zmq/options.js"

export const layer = (
  options: ZmqRegistryOptions = {}
): Layer.Layer<HandlerRegistry | ZmqRegistry, ZmqRegistryError, HandlerDirectory> =>
  Layer.scopedContext(
    Effect.map(make(resolveOptions(options)), (registry) =>
      Context.make(HandlerRegistry, registry).pipe(
        Context.add(ZmqRegistry, { endpoint: registry.endpoint, stats: registry.stats })
      ))
  )
