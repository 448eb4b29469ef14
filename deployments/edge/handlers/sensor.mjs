// Edge handler: takes a reading and appends it, as one JSON line, to
// data/samples.jsonl beside the database. The reading here is this box's load
// average and free memory; a real box would read its sensors. See
// deployments/default/handlers/example.mjs for the handler module contract.
import { appendFileSync, mkdirSync } from "node:fs"
import { freemem, loadavg } from "node:os"
import { fileURLToPath } from "node:url"

const dataDir = fileURLToPath(new URL("../data/", import.meta.url))

export default {
  id: "sensor",
  methods: {
    sample: ({ job }) => {
      const reading = { at: new Date().toISOString(), job: job.id, load1: loadavg()[0], freeMb: Math.round(freemem() / 2 ** 20) }
      mkdirSync(dataDir, { recursive: true })
      appendFileSync(`${dataDir}samples.jsonl`, `${JSON.stringify(reading)}\n`)
      return reading
    }
  }
}
