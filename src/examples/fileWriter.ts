/**
 * A handler that writes files, like the original ScheduleZero's test handler:
 * `node dist/examples/fileWriter.js` (handler id "file-writer"; output under
 * SZ_OUTPUT_DIR, default ./handler-output). Connection settings as in
 * src/handler/main.ts.
 *   write({ name, content })  → writes <dir>/<name>, returns { path, bytes }
 *   append({ name, line })    → appends a line with a timestamp, returns { path }
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { defineHandler, runHandlerMain } from "../handler/index.js"

const outputDir = path.resolve(process.env.SZ_OUTPUT_DIR ?? "handler-output")

/** A plain file name inside the output directory (no separators, no dot-files). */
const target = (name: unknown): string => {
  if (typeof name !== "string" || !/^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/.test(name)) {
    throw Object.assign(new Error(`invalid file name ${JSON.stringify(name)}`), { name: "InvalidArgument" })
  }
  return path.join(outputDir, name)
}

export const fileWriter = defineHandler({
  id: "file-writer",
  concurrency: 4,
  methods: {
    write: {
      params: {
        type: "object",
        properties: { name: { type: "string" }, content: { type: "string" } },
        required: ["name", "content"]
      },
      run: async ({ kwargs }) => {
        const file = target(kwargs.name)
        const content = String(kwargs.content ?? "")
        await fs.mkdir(outputDir, { recursive: true })
        await fs.writeFile(file, content)
        return { path: file, bytes: Buffer.byteLength(content) }
      }
    },
    append: {
      params: { type: "object", properties: { name: { type: "string" }, line: { type: "string" } }, required: ["name"] },
      run: async ({ kwargs, jobId }) => {
        const file = target(kwargs.name)
        await fs.mkdir(outputDir, { recursive: true })
        await fs.appendFile(file, `${new Date().toISOString()} ${jobId} ${String(kwargs.line ?? "")}\n`)
        return { path: file }
      }
    }
  }
})

runHandlerMain(fileWriter)
