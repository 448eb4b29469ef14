import { describe, expect, it } from "@effect/vitest"
import { createToken, describeNewToken, isLoopback, tokenHash } from "../../../src/components/portal/security.js"

describe("portal tokens", () => {
  it("creates distinct random tokens whose hash is what config stores", () => {
    const a = createToken()
    const b = createToken()
    expect(a.token).not.toBe(b.token)
    expect(a.token).toMatch(/^sz_[\w-]{43}$/)
    expect(a.sha256).toBe(tokenHash(a.token))
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/)
    const text = describeNewToken("admin", "ops", a)
    expect(text).toContain(a.token)
    expect(text).toContain(`sha256: ${a.sha256}`)
    expect(text).toContain("role: admin")
  })

  it("knows loopback addresses", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) expect(isLoopback(host), host).toBe(true)
    for (const host of ["0.0.0.0", "::", "192.168.1.10", "example.com", "10.0.0.1"]) expect(isLoopback(host), host).toBe(false)
  })
})
