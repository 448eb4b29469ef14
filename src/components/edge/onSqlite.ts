/**
 * The edge components on a deployment's SQLite store: built in the same layer
 * graph as the store, they share its connection (ClientLive is memoised by
 * reference), which the outbox trigger needs and which serialises the hub's
 * writes with the scheduler's.
 */
import { Layer } from "effect"
import { resolveOptions, type SqliteOptions } from "../datastore/Sqlite.js"
import { ClientLive, SqliteStoreOptions } from "../datastore/sqlite/Client.js"
import type { DatabaseRefused } from "../datastore/sqlite/errors.js"
import type { DataStore } from "../../services/DataStore.js"
import type { EdgeAssignments } from "./assignments.js"
import * as Hub from "./Hub.js"
import * as Upstream from "./Upstream.js"

const storeClient = (sqlite: SqliteOptions) =>
  ClientLive.pipe(Layer.provide(Layer.succeed(SqliteStoreOptions, resolveOptions(sqlite))))

/** The upstream also needs the store itself: it applies the server's schedule assignments through it. */
export const upstreamLayer = (
  sqlite: SqliteOptions,
  options: Upstream.UpstreamOptions
): Layer.Layer<Upstream.Upstream, DatabaseRefused, DataStore> => Upstream.layer(options).pipe(Layer.provide(storeClient(sqlite)))

export const hubLayer = (
  sqlite: SqliteOptions,
  options: Hub.HubOptions
): Layer.Layer<Hub.Hub | EdgeAssignments, DatabaseRefused | Hub.EdgeHubError> =>
  Hub.layer(options).pipe(Layer.provide(storeClient(sqlite)))
