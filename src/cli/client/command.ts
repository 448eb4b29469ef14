/** What every client command shares: connecting to the portal and printing. */
import { Console, Effect } from "effect"
import type { CliUsageError } from "../errors.js"
import { type ConnectionFlags, type PortalTarget, resolveTarget } from "./connection.js"

/** Resolves the portal from the connection flags, then runs `use` against it. */
export const withPortal = <A, E, R>(
  flags: ConnectionFlags,
  use: (target: PortalTarget) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | CliUsageError, R> => Effect.flatMap(resolveTarget(flags), use)

export const printJson = (value: unknown) => Console.log(JSON.stringify(value, null, 2))
