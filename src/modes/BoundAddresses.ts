/**
 * Where the running components listen. Each component that binds a socket
 * (portal, ZeroMQ handler router, event stream) reports its bound address
 * here once it is listening — with the real port when 0 was asked for — and
 * the ports file (portsFile.ts) publishes them for tools, tests and people.
 */
import { Context, Effect, Layer, Ref } from "effect"

export interface BoundAddress {
  readonly host: string
  readonly port: number
  /** How to reach it: `http://127.0.0.1:8080`, `tcp://127.0.0.1:4242`. */
  readonly url: string
}

export interface BoundAddressesShape {
  /** Records `address` under `name` (`portal`, `zmq_router`, `event_pub`). */
  readonly report: (name: string, address: BoundAddress) => Effect.Effect<void>
  /** Everything reported so far, by name. */
  readonly all: Effect.Effect<Readonly<Record<string, BoundAddress>>>
}

export class BoundAddresses extends Context.Tag("schedulezero/BoundAddresses")<BoundAddresses, BoundAddressesShape>() {}

export const layer: Layer.Layer<BoundAddresses> = Layer.effect(
  BoundAddresses,
  Effect.map(Ref.make<Readonly<Record<string, BoundAddress>>>({}), (bound) => ({
    report: (name, address) =>
      Effect.zipRight(
        Ref.update(bound, (sofar) => ({ ...sofar, [name]: address })),
        Effect.logDebug(`${name} bound to ${address.url}`)
      ),
    all: Ref.get(bound)
  }))
)

/** `tcp://host:port` (ZeroMQ endpoint) as a BoundAddress; undefined for any other form. */
export const fromTcpEndpoint = (endpoint: string): BoundAddress | undefined => {
  const match = /^tcp:\/\/(\[[^\]]+\]|[^:]+):(\d+)$/.exec(endpoint)
  return match === null ? undefined : { host: match[1]!.replace(/^\[|\]$/g, ""), port: Number(match[2]), url: endpoint }
}
