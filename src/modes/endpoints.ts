/** Reporting a bound ZeroMQ endpoint (ipc:// and inproc:// endpoints have no port and are not reported). */
import { Effect } from "effect"
import { BoundAddresses, fromTcpEndpoint } from "./BoundAddresses.js"

export const reportEndpoint = (name: string, endpoint: string | null) =>
  Effect.gen(function* () {
    const address = endpoint === null ? undefined : fromTcpEndpoint(endpoint)
    if (address !== undefined) yield* (yield* BoundAddresses).report(name, address)
  })
