/**
 * A local HTTP server that answers like Discord's webhook endpoint: each path
 * has a script of answers (204 by default once the script runs out), e.g.
 * 429 with `retry_after` in the JSON body, 5xx, or 204 with an exhausted
 * rate-limit bucket. Records every request with its arrival time.
 */
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

export interface Answer {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
  /** Never answer (the request hangs until the client gives up). */
  readonly hang?: boolean
}

export interface Received {
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
  readonly atMs: number
}

export const rateLimited = (retryAfterSeconds: number): Answer => ({
  status: 429,
  body: { message: "You are being rate limited.", retry_after: retryAfterSeconds, global: false },
  headers: { "retry-after": String(Math.ceil(retryAfterSeconds)), "x-ratelimit-remaining": "0" }
})

export const fakeWebhookServer = (scripts: Record<string, ReadonlyArray<Answer>>) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: (path: string) => string; readonly received: Array<Received>; readonly close: () => void }>(
      (resume) => {
        const received: Array<Received> = []
        const remaining = new Map(Object.entries(scripts).map(([path, answers]) => [path, [...answers]]))
        const server = createServer((request, response) => {
          let body = ""
          request.on("data", (chunk) => (body += String(chunk)))
          request.on("end", () => {
            const path = request.url ?? "/"
            received.push({ path, headers: request.headers, body, atMs: performance.now() })
            const answer = remaining.get(path)?.shift() ?? { status: 204 }
            if (answer.hang === true) return
            response.writeHead(answer.status, {
              ...(answer.body !== undefined && { "content-type": "application/json" }),
              ...answer.headers
            })
            response.end(answer.body === undefined ? undefined : JSON.stringify(answer.body))
          })
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resume(Effect.succeed({
            url: (path: string) => `http://127.0.0.1:${port}${path}`,
            received,
            close: () => {
              server.closeAllConnections()
              server.close()
            }
          }))
        })
      }
    ),
    (server) => Effect.sync(() => server.close())
  )
