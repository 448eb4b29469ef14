/**
 * A real portal for tests: the real scheduler on the memory (or SQLite) store,
 * local handlers, and the portal on 127.0.0.1 port 0. `call` sends a request
 * with an optional bearer token and returns the status, headers and parsed body.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer } from "effect"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as MemoryStore from "../../../src/components/datastore/Memory.js"
import * as SqliteStore from "../../../src/components/datastore/Sqlite.js"
import * as Portal from "../../../src/components/portal/Portal.js"
import type { TokenEntry } from "../../../src/components/portal/security.js"
import { tokenHash } from "../../../src/components/portal/security.js"
import * as LocalRegistry from "../../../src/components/registry/Local.js"
import type { EventBroker } from "../../../src/services/EventBroker.js"
import * as SchedulerLive from "../../../src/services/scheduler/layer.js"
import type { SchedulerOptions } from "../../../src/services/scheduler/SchedulerOptions.js"

export const probe = LocalRegistry.defineLocalHandler({
  id: "probe",
  methods: {
    echo: ({ kwargs }) => kwargs,
    add: ({ args }) => (args as ReadonlyArray<number>).reduce((a, b) => a + b, 0),
    fail: () => {
      throw new TypeError("the widget is broken")
    },
    slow: ({ kwargs }) => Effect.as(Effect.sleep(`${Number(kwargs.ms ?? 200)} millis`), "slept")
  }
})

export const adminToken = "sz_admin_test_token"
export const viewerToken = "sz_viewer_test_token"
export const testTokens: ReadonlyArray<TokenEntry> = [
  { name: "ops", role: "admin", sha256: tokenHash(adminToken) },
  { name: "wall", role: "viewer", sha256: tokenHash(viewerToken) }
]

export type StoreKind = "memory" | "sqlite"

const storeLayer = (kind: StoreKind, sqliteFile: string | undefined) => {
  if (kind === "memory") return MemoryStore.layer
  if (sqliteFile !== undefined) return SqliteStore.layer({ filename: sqliteFile })
  const dir = mkdtempSync(join(tmpdir(), "sz-portal-"))
  return Layer.merge(
    SqliteStore.layer({ filename: join(dir, "store.db") }),
    Layer.scopedDiscard(Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))))
  )
}

export interface StackOptions extends Portal.PortalOptions {
  readonly store?: StoreKind
  /** With store "sqlite": this database file (shared with another stack) instead of a fresh one. */
  readonly sqliteFile?: string
  readonly broker?: Layer.Layer<EventBroker, unknown>
  readonly scheduler?: SchedulerOptions
}

/** The core without the portal: scheduler, store, local handlers (probe) and broker. */
export const coreStack = (options: StackOptions = {}) => {
  const broker = options.broker ?? LocalBroker.layer
  const store = storeLayer(options.store ?? "memory", options.sqliteFile).pipe(Layer.provide(broker))
  const registry = LocalRegistry.layer([probe])
  const scheduler = SchedulerLive.layer({ cleanupInterval: null, ...options.scheduler }).pipe(
    Layer.provide(Layer.mergeAll(store, registry, broker))
  )
  return Layer.mergeAll(scheduler, store, registry, broker)
}

/** The whole stack with the portal; PortalServer tells the URL. The broker is the local one unless given. */
export const portalStack = (options: StackOptions = {}) => {
  const { store: _store, sqliteFile: _file, broker: _broker, scheduler: _scheduler, ...portalOptions } = options
  return Portal.layer({ host: "127.0.0.1", port: 0, ...portalOptions }).pipe(Layer.provideMerge(coreStack(options)))
}

export interface Reply {
  readonly status: number
  readonly headers: Headers
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON bodies, read by assertions
  readonly body: any
  readonly text: string
}

export const call = (
  base: string,
  method: string,
  path: string,
  options: { readonly token?: string; readonly body?: unknown; readonly raw?: string; readonly headers?: Record<string, string> } = {}
) =>
  Effect.promise(async (): Promise<Reply> => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    let body: string | undefined
    if (options.raw !== undefined) body = options.raw
    else if (options.body !== undefined) body = JSON.stringify(options.body)
    if (body !== undefined) headers["content-type"] ??= "application/json"
    const response = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined && { body }) })
    const text = await response.text()
    let parsed: unknown = null
    try {
      parsed = text === "" ? null : JSON.parse(text)
    } catch {
      parsed = null
    }
    return { status: response.status, headers: response.headers, body: parsed, text }
  })
