/** `keys generate`: key files in <deployment>/keys/, secret keys private, only public keys printed. */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readKey } from "../../src/components/registry/zmq/keys.js"
import { runCli } from "./harness.js"

const dir = mkdtempSync(join(tmpdir(), "sz-keys-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("keys generate", () => {
  it.live("writes the server pair and one per handler, prints only public keys, keeps existing files", () =>
    Effect.gen(function* () {
      const deployment = join(dir, "one")
      const made = yield* runCli(["keys", "generate", "--deployment", deployment, "--handler", "billing", "--handler", "mailer"])
      expect(made.code).toBe(0)
      const keys = join(deployment, "keys")
      for (const name of ["server", "billing", "mailer"]) {
        expect(statSync(join(keys, `${name}.key`)).mode & 0o777).toBe(0o600)
        const publicKey = yield* readKey(join(keys, `${name}.pub`))
        expect(made.stdout).toMatch(new RegExp(`\\n${name}\\s+${publicKey.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(\\n|$)`))
        expect(made.stdout).not.toContain(readFileSync(join(keys, `${name}.key`), "utf8").trim())
      }
      expect(made.stdout.split("\n")[0]).toBe(`wrote 3 key pair(s) to ${keys} (<name>.key secret, <name>.pub public)`)

      const again = yield* runCli(["keys", "generate", "--deployment", deployment])
      expect(again.code).toBe(2)
      expect(again.stderr).toBe(`${join(keys, "server.key")}: already exists (pass overwrite to replace it)`)

      const before = readFileSync(join(keys, "billing.pub"), "utf8")
      const replaced = yield* runCli(["keys", "generate", "--deployment", deployment, "--no-server", "--handler", "billing", "--overwrite", "--json"])
      expect(replaced.code).toBe(0)
      const json = JSON.parse(replaced.stdout)
      expect(Object.keys(json.public_keys)).toEqual(["billing"])
      expect(json.public_keys.billing).not.toBe(before.trim())
      expect(json.public_keys.billing).toBe(yield* readKey(join(keys, "billing.pub")))
    }))

  it.live("refuses names that cannot name a key file, and --no-server without handlers", () =>
    Effect.gen(function* () {
      const bad = yield* runCli(["keys", "generate", "--deployment", join(dir, "two"), "--handler", "../evil"])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toContain("'../evil' cannot name a key file")
      const nothing = yield* runCli(["keys", "generate", "--deployment", join(dir, "two"), "--no-server"])
      expect(nothing).toMatchObject({ code: 2, stderr: "nothing to generate: --no-server needs at least one --handler" })
    }))
})
