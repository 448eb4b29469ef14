import { Effect, Layer } from "effect"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as SqliteStore from "../../../src/components/datastore/Sqlite.js"
import { dataStoreContract } from "./contract.js"
import { tempDatabase } from "./sqlite/tempDatabase.js"

// A new file per test: the contract builds the layer afresh for each one.
const store = Layer.unwrapScoped(tempDatabase.pipe(Effect.map((filename) => SqliteStore.layer({ filename }))))

dataStoreContract("sqlite", Layer.provideMerge(store, LocalBroker.layer))
