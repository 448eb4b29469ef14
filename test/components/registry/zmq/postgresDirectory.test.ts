/** The postgres HandlerDirectory on the real server, in the store's schema and pool. */
import { Effect, Layer } from "effect"
import * as LocalBroker from "../../../../src/components/broker/Local.js"
import * as Postgres from "../../../../src/components/datastore/Postgres.js"
import * as PostgresDirectory from "../../../../src/components/registry/zmq/PostgresDirectory.js"
import { freshSchema, useTestDatabase } from "../../datastore/postgres/testDatabase.js"
import { directorySuite } from "./directorySuite.js"

const database = useTestDatabase("sz_directory")
const options = (schema: string): Postgres.PostgresOptions => ({ url: database.url(), schema, maxConnections: 2 })

directorySuite("postgres", {
  fresh: Effect.sync(freshSchema),
  directory: (schema) => PostgresDirectory.layerOnStore(options(schema)),
  store: (schema) => Postgres.layer(options(schema)).pipe(Layer.provide(LocalBroker.layer))
})
