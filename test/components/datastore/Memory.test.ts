import { Layer } from "effect"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as MemoryStore from "../../../src/components/datastore/Memory.js"
import { dataStoreContract } from "./contract.js"

dataStoreContract("memory", Layer.provideMerge(MemoryStore.layer, LocalBroker.layer))
