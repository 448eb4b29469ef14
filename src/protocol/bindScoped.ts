/**
 * Binding a server socket (the handler registry's and edge hub's ROUTERs, the
 * event stream's XPUB) for a scope: the socket is closed when the bind fails
 * and when the scope ends, and a bind is retried for a few seconds while the
 * port is still held (a restart right after a stop).
 */
import { Effect, Schedule, type Scope } from "effect"
import type * as zmq from "zeromq"

export const bindScoped = <S extends zmq.Socket, E>(
  make: () => S,
  endpoint: string,
  onError: (reason: string) => E
): Effect.Effect<S, E, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const socket = make()
        try {
          await socket.bind(endpoint)
        } catch (error) {
          socket.close()
          throw error
        }
        return socket
      },
      catch: (error) => `cannot bind ${endpoint}: ${error instanceof Error ? error.message : String(error)}`
    }).pipe(
      Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 30, while: (reason) => reason.includes("in use") }),
      Effect.mapError(onError)
    ),
    (socket) => Effect.sync(() => socket.close())
  )
