/**
 * The CURVE allow-list: a ZAP handler (ZeroMQ RFC 27) that admits only
 * connections whose client public key is configured. libzmq asks the handler
 * bound at `inproc://zeromq.zap.01` in the socket's context before it
 * completes a CURVE handshake, so a refused peer never reaches the registry.
 * Each registry owns a ZeroMQ context, so two registries in one process (tests,
 * a restart) each have their own handler.
 */
import { Effect, type Scope } from "effect"
import * as zmq from "zeromq"
import { z85Encode } from "../../../protocol/keyProof.js"
import { receiveLoop } from "../../../protocol/socketLoops.js"

export const zapEndpoint = "inproc://zeromq.zap.01"

export interface Refusal {
  /** The peer's IP address as libzmq reports it. */
  readonly address: string
  /** The public key it offered (Z85), or the mechanism when it was not CURVE. */
  readonly publicKey: string | null
  readonly mechanism: string
}

/**
 * Binds the ZAP handler in `context` and answers every request until the scope
 * closes: 200 for a CURVE client whose key is in `allowed`, else 400 (and
 * `onRefused`). Must be running before the server socket binds.
 */
export const serveAllowList = (
  context: zmq.Context,
  allowed: ReadonlySet<string>,
  onRefused: (refusal: Refusal) => Effect.Effect<void>
): Effect.Effect<void, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const socket = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const reply = new zmq.Reply({ context, linger: 0 })
          await reply.bind(zapEndpoint)
          return reply
        },
        catch: (error) => new Error(`cannot start the CURVE allow-list: ${String(error)}`)
      }),
      (reply) => Effect.sync(() => reply.close())
    )
    const answer = (frames: Array<Buffer>) => {
      // version, request id, domain, address, identity, mechanism, credentials...
      const requestId = frames[1] ?? Buffer.alloc(0)
      const mechanism = frames[5]?.toString("latin1") ?? ""
      const key = frames[6]
      const publicKey = mechanism === "CURVE" && key?.length === 32 ? z85Encode(key) : null
      const admitted = publicKey !== null && allowed.has(publicKey)
      const reply = Effect.tryPromise(() =>
        socket.send(["1.0", requestId, admitted ? "200" : "400", admitted ? "OK" : "key not allowed", publicKey ?? "", ""])
      ).pipe(Effect.ignore)
      return admitted
        ? reply
        : Effect.zipRight(
          onRefused({ address: frames[3]?.toString("latin1") ?? "", publicKey, mechanism }),
          reply
        )
    }
    yield* Effect.forkScoped(receiveLoop(socket, answer))
  })
