/**
 * Binding a server socket (the handler registry's and edge hub's ROUTERs, the
 * event stream's XPUB) for a scope: the socket is closed when the bind fails
 * and when the scope ends, and a bind is retried for a few seconds while the
 * port is still held (a restart right after a stop).
 */
import { Effect, Schedule, type Scope } from "effect"
import type * as zmq from "zeromq"

/** Binds what `make` creates with `bind`; `endpoint` names it in errors. Also for sockets of our own (ZmtpRouter). */
export const bindScopedWith = <S extends { close(): void }, E>(
  make: () => S,
  bind: (socket: S) => Promise<unknown>,
  endpoint: string,
  onError: (reason: string) => E
): Effect.Effect<S, E, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const socket = make()
        try {
          await bind(socket)
        } catch (error) {
          socket.close()
          throw error
        }
        return socket
      },
      catch: (error) => `cannot bind ${endpoint}: ${error instanceof Error ? error.message : String(error)}`
    }).pipe(
      // libzmq says "Address already in use", Node "EADDRINUSE: address already in use".
      Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 30, while: (reason) => reason.includes("in use") }),
      Effect.mapError(onError)
    ),
    (socket) => Effect.sync(() => socket.close())
  )

export const bindScoped = <S extends zmq.Socket, E>(
  make: () => S,
  endpoint: string,
  onError: (reason: string) => E
): Effect.Effect<S, E, Scope.Scope> => bindScopedWith(make, (socket) => socket.bind(endpoint), endpoint, onError)
