import { describe, expect, it } from "vitest"
import { withoutKey, withoutValue } from "../../src/domain/churn.js"

describe("withoutKey", () => {
  it("deletes from a map that keeps other entries, and returns that map", () => {
    const map = new Map([["a", 1], ["b", 2]])
    const after = withoutKey(map, "a")
    expect(after).toBe(map)
    expect(Array.from(after)).toEqual([["b", 2]])
  })

  it("returns a new empty map when the key was the only entry", () => {
    const map = new Map([["a", 1]])
    const after = withoutKey(map, "a")
    expect(after).not.toBe(map)
    expect(after.size).toBe(0)
  })

  it("leaves a map without the key as it is", () => {
    const map = new Map([["a", 1]])
    expect(withoutKey(map, "b")).toBe(map)
    expect(map.get("a")).toBe(1)
  })
})

describe("withoutValue", () => {
  it("deletes from a set that keeps other members, and returns that set", () => {
    const set = new Set(["a", "b"])
    const after = withoutValue(set, "a")
    expect(after).toBe(set)
    expect(Array.from(after)).toEqual(["b"])
  })

  it("returns a new empty set when the value was the only member", () => {
    const set = new Set(["a"])
    const after = withoutValue(set, "a")
    expect(after).not.toBe(set)
    expect(after.size).toBe(0)
  })

  it("leaves a set without the value as it is", () => {
    const set = new Set(["a"])
    expect(withoutValue(set, "b")).toBe(set)
    expect(set.has("a")).toBe(true)
  })
})
