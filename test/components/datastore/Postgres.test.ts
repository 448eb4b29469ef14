import { Effect, Layer } from "effect"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as PostgresStore from "../../../src/components/datastore/Postgres.js"
import { dataStoreContract } from "./contract.js"
import { emptySchema, useTestDatabase } from "./postgres/testDatabase.js"

const database = useTestDatabase()
const schema = "contract"

// Each test starts from empty tables (the contract builds the layer afresh for each one). Commits
// are not waited onto disk: durability is not what the contract checks, and the suite stays quick.
const store = Layer.unwrapEffect(
  Effect.promise(() => emptySchema(database.url(), schema)).pipe(
    Effect.map(() =>
      PostgresStore.layer({ url: database.url(), schema, maxConnections: 4, synchronousCommit: "off" })
    )
  )
)

dataStoreContract("postgres", Layer.provideMerge(store, LocalBroker.layer))
