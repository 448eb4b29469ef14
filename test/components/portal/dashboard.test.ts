/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core)
 * against a real portal on the SQLite store: sign in, create a schedule
 * through the form (validated as you type), watch it fire live in the
 * executions view, pause it, read a failing job's error, and cancel a
 * running job. Screenshots go to test-results/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ManagedRuntime } from "effect"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { PortalServer } from "../../../src/components/portal/Portal.js"
import { adminToken, call, portalStack, testTokens, viewerToken } from "./harness.js"

const chromiumPath = "/usr/bin/chromium"
const shots = "test-results"

describe.skipIf(!existsSync(chromiumPath))("dashboard in chromium", () => {
  const runtime = ManagedRuntime.make(portalStack({ tokens: testTokens, store: "sqlite" }))
  let base = ""
  let profile = ""
  let context: BrowserContext
  let page: Page

  beforeAll(async () => {
    base = (await runtime.runPromise(PortalServer)).url
    mkdirSync(shots, { recursive: true })
    profile = mkdtempSync(join(tmpdir(), "sz-chromium-"))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      viewport: { width: 1280, height: 860 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync"
      ]
    })
    page = context.pages()[0] ?? (await context.newPage())
    page.on("pageerror", (error) => console.error("page error:", error.message))
  })

  afterAll(async () => {
    await context?.close()
    await runtime.dispose()
    rmSync(profile, { recursive: true, force: true })
  })

  const api = (method: string, path: string, body?: unknown) =>
    runtime.runPromise(call(base, method, path, { token: adminToken, ...(body !== undefined && { body }) }))

  it("asks for a token, then shows the overview", async () => {
    await page.goto(`${base}/#overview`)
    await page.locator("#token-panel").waitFor({ state: "visible" })
    await page.fill("#token-input", adminToken)
    await page.click("#token-form button")
    await page.locator("#token-panel").waitFor({ state: "hidden" })
    await expect.poll(() => page.textContent("#live-text")).toBe("live")
    expect(await page.textContent("#overview-cards")).toContain("Handlers online1/1")
  })

  it("creates a schedule through the form, validating the trigger as you type", async () => {
    await page.click('#nav a[data-view="schedules"]')
    await page.click("#new-schedule")
    await page.fill('#schedule-form [name="id"]', "browser-tick")
    await page.selectOption('#schedule-form [name="handler"]', "probe")
    await page.selectOption('#schedule-form [name="method"]', "echo")
    await page.selectOption('#schedule-form [name="kind"]', "cron")
    await page.fill('#schedule-form [name="expr"]', "99 * * * *")
    await page.locator("#preview.invalid").waitFor()
    expect(await page.textContent("#preview")).toContain("trigger.minute")
    await page.fill('#schedule-form [name="expr"]', "30 9 * * mon-fri")
    await page.fill('#schedule-form [name="timezone"]', "Europe/Berlin")
    await page.locator("#preview.valid li").nth(4).waitFor()
    expect(await page.locator("#preview li").count()).toBe(5)
    expect(await page.textContent("#preview")).toMatch(/T09:30:00\+0[12]:00/)
    await page.screenshot({ path: `${shots}/dashboard-form.png`, fullPage: true })
    await page.selectOption('#schedule-form [name="kind"]', "interval")
    await page.fill('#schedule-form [name="every"]', "1")
    await page.selectOption('#schedule-form [name="unit"]', "seconds")
    await page.fill('#schedule-form [name="kwargs"]', '{"hello": "browser"}')
    await page.locator("#preview.valid li").nth(4).waitFor()
    await page.click("#form-submit")
    await page.locator('#schedules-table tr[data-id="browser-tick"]').waitFor()
    expect(await page.textContent('#schedules-table tr[data-id="browser-tick"]')).toContain("every 1 second")
    const stored = await api("GET", "/api/schedules/browser-tick")
    expect(stored.body).toMatchObject({ handler: "probe", method: "echo", kwargs: { hello: "browser" }, paused: false })
  })

  it("shows the schedule firing live in the executions view", async () => {
    await page.click('#nav a[data-view="executions"]')
    const row = page.locator("#executions-table tbody tr", { hasText: "browser-tick" }).first()
    await row.waitFor({ timeout: 15_000 })
    expect(await row.textContent()).toContain("success")
    await page.screenshot({ path: `${shots}/dashboard-executions.png`, fullPage: true })
  })

  it("pauses the schedule", async () => {
    await page.click('#nav a[data-view="schedules"]')
    const row = page.locator('#schedules-table tr[data-id="browser-tick"]')
    await row.getByRole("button", { name: "Pause" }).click()
    await row.locator(".badge.b-paused").waitFor()
    expect((await api("GET", "/api/schedules/browser-tick")).body.paused).toBe(true)
    await page.screenshot({ path: `${shots}/dashboard-schedules.png`, fullPage: true })
  })

  it("shows a failing job's error details", async () => {
    const created = await api("POST", "/api/schedules", {
      id: "browser-broken",
      handler: "probe",
      method: "fail",
      trigger: { type: "cron", hour: 3, timezone: "UTC" },
      paused: true
    })
    expect(created.status).toBe(201)
    const row = page.locator('#schedules-table tr[data-id="browser-broken"]')
    await row.waitFor()
    await row.getByRole("button", { name: "Run now" }).click()
    await page.click('#nav a[data-view="executions"]')
    const failure = page.locator("#executions-table tbody tr", { hasText: "(run now)" }).filter({ hasText: "error" }).first()
    await failure.waitFor({ timeout: 15_000 })
    expect(await failure.locator(".errbox").textContent()).toBe("TypeError: the widget is broken")
    await page.screenshot({ path: `${shots}/dashboard-failure.png`, fullPage: true })
    await page.click('#nav a[data-view="overview"]')
    await expect.poll(() => page.textContent("#overview-failures")).toContain("the widget is broken")
  })

  it("cancels a running job from the overview", async () => {
    const created = await api("POST", "/api/schedules", {
      id: "browser-sleeper",
      handler: "probe",
      method: "slow",
      kwargs: { ms: 60_000 },
      trigger: { type: "cron", hour: 3, timezone: "UTC" },
      paused: true
    })
    expect(created.status).toBe(201)
    const run = await api("POST", "/api/schedules/browser-sleeper/run")
    const jobId: string = run.body.job_id
    await page.click('#nav a[data-view="overview"]')
    const item = page.locator(`#overview-running li[data-job="${jobId}"]`)
    await item.locator(".badge.b-running").waitFor({ timeout: 15_000 })
    page.once("dialog", (dialog) => void dialog.accept())
    await item.getByRole("button", { name: "Cancel" }).click()
    await item.waitFor({ state: "detached", timeout: 15_000 })
    const after = await api("GET", `/api/jobs/${jobId}`)
    expect(after.body).toMatchObject({ status: "finished", result: { outcome: "cancelled", error: { tag: "JobCancelled" } } })
    await page.click('#nav a[data-view="executions"]')
    const record = page.locator(`#executions-table tbody tr[data-job="${jobId}"]`)
    await record.waitFor({ timeout: 15_000 })
    expect(await record.locator(".badge").first().textContent()).toBe("cancelled")
    await page.screenshot({ path: `${shots}/dashboard-cancelled.png`, fullPage: true })
  })

  it("is readable on a phone-sized screen", async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.click('#nav a[data-view="overview"]')
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth")
    expect(overflow).toBeLessThanOrEqual(0)
    await page.screenshot({ path: `${shots}/dashboard-phone-overview.png`, fullPage: true })
    await page.click('#nav a[data-view="schedules"]')
    await page.screenshot({ path: `${shots}/dashboard-phone-schedules.png`, fullPage: true })
  })
  it("hides the actions a viewer token may not take", async () => {
    await page.setViewportSize({ width: 1280, height: 860 })
    await page.evaluate(`localStorage.setItem("sz.token", ${JSON.stringify(viewerToken)})`)
    // Only the hash differs from the current URL: reload so the page starts over with the viewer token.
    await page.goto(`${base}/#schedules`)
    await page.reload()
    const row = page.locator('#schedules-table tr[data-id="browser-tick"]')
    await row.waitFor()
    await page.locator("body.viewer").waitFor({ state: "attached" })
    expect(await page.locator("#new-schedule").isVisible()).toBe(false)
    // The buttons are there, just not shown (nor in the accessibility tree).
    expect(await row.locator("button", { hasText: "Resume" }).count()).toBe(1)
    expect(await row.locator("button", { hasText: "Resume" }).isVisible()).toBe(false)
    expect(await row.getByRole("button").count()).toBe(0)
    await page.screenshot({ path: `${shots}/dashboard-viewer.png`, fullPage: true })
  })
})
