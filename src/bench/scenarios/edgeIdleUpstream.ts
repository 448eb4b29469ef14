/**
 * edge-idle-upstream: edge-idle with the upstream component running and its
 * server unreachable (a loopback port nothing listens on, found by binding
 * port 0 and closing it): the same CPU and RSS figures while the upstream
 * retries with its default backoff (500 ms doubling to 30 s) and applies the
 * outbox bound every 5 s.
 */
import { createServer } from "node:net"
import type { FileSystem } from "@effect/platform"
import { Effect } from "effect"
import type { Metrics } from "../report.js"
import { edgeIdle } from "./edgeIdle.js"

/** A loopback TCP port that was free a moment ago and is closed now. */
const closedPort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

export const edgeIdleUpstream = (): Effect.Effect<Metrics, unknown, FileSystem.FileSystem> =>
  Effect.flatMap(closedPort, (port) =>
    edgeIdle([
      "upstream:",
      `  endpoint: tcp://127.0.0.1:${port}`,
      "  edge_id: bench-edge",
      "  token: bench-token"
    ])
  )
