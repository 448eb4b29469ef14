// ScheduleZero dashboard: plain ES module, no dependencies. Data comes from the
// portal API; live changes arrive on the SSE stream (/api/events, read with
// fetch so the bearer token can be sent). Only the edges view polls (while it
// is shown): an edge going silent is noticed by a sweep, not announced by an
// event. The once-a-second timer only redraws countdowns from data already loaded.

const state = {
  token: localStorage.getItem("sz.token") ?? "",
  view: "overview",
  schedules: [],
  handlers: [],
  jobs: [],
  executions: [],
  execCursor: null,
  hasExecutionLog: true,
  stats: null,
  editing: null,
  /** null until loaded (GET /api/edges); `edgeHub` false when this server runs no edge hub. */
  edges: null,
  edgeHub: false
}

const $ = (selector) => document.querySelector(selector)

/** Builds an element; children are nodes or text (never parsed as HTML). */
const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value)
    else if (key === "class") el.className = value
    else el.setAttribute(key, value === true ? "" : String(value))
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return el
}

const badge = (text, kind = text) => h("span", { class: `badge b-${kind}` }, text)

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`)
    this.status = status
    this.body = body
  }
}

const api = async (method, path, body) => {
  const headers = {}
  if (state.token) headers.authorization = `Bearer ${state.token}`
  if (body !== undefined) headers["content-type"] = "application/json"
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await response.text()
  const parsed = text === "" ? null : JSON.parse(text)
  if (response.status === 401) showTokenPanel(parsed?.error?.message)
  if (!response.ok) throw new ApiError(response.status, parsed)
  return parsed
}

let toastTimer
const toast = (message) => {
  const el = $("#toast")
  el.textContent = message
  el.hidden = false
  clearTimeout(toastTimer)
  toastTimer = setTimeout(() => {
    el.hidden = true
  }, 4000)
}

const showTokenPanel = (message) => {
  $("#token-panel").hidden = false
  $("#token-error").textContent = state.token && message ? message : ""
}

// ---------- time ----------

const parseTime = (iso) => (iso === null ? null : new Date(iso))

/** "in 3m 05s", "2h 10m ago": countdowns to (or since) an instant. */
const relative = (date) => {
  if (date === null) return "—"
  let seconds = Math.round((date.getTime() - Date.now()) / 1000)
  const past = seconds < 0
  seconds = Math.abs(seconds)
  const d = Math.floor(seconds / 86400)
  const hh = Math.floor((seconds % 86400) / 3600)
  const mm = Math.floor((seconds % 3600) / 60)
  const ss = seconds % 60
  const text = d > 0 ? `${d}d ${hh}h` : hh > 0 ? `${hh}h ${String(mm).padStart(2, "0")}m` : mm > 0 ? `${mm}m ${String(ss).padStart(2, "0")}s` : `${ss}s`
  return past ? (seconds <= 1 ? "now" : `${text} ago`) : `in ${text}`
}

/** How long ago a past instant was ("just now", "12s ago"); a clock a little ahead still reads as just now. */
const ago = (date) => (date === null ? "—" : date.getTime() > Date.now() - 1500 ? "just now" : relative(date))

/** The ISO time as the API gave it (with its zone's offset), shortened for tables. */
const shortTime = (iso) => (iso === null ? "—" : iso.replace("T", " ").replace(/\.\d+/, ""))

const ms = (value) => (value === null || value === undefined ? "—" : value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(2)} s`)

// ---------- data ----------

const loadSchedules = async () => {
  const all = []
  let cursor = null
  do {
    const page = await api("GET", `/api/schedules?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)
    all.push(...page.schedules)
    cursor = page.next_cursor
  } while (cursor)
  state.schedules = all
}

const loadHandlers = async () => {
  state.handlers = (await api("GET", "/api/handlers")).handlers
}

const loadJobs = async () => {
  state.jobs = (await api("GET", "/api/jobs")).jobs
}

const execQuery = () => {
  const form = new FormData($("#exec-filters"))
  const params = new URLSearchParams({ limit: "50" })
  for (const key of ["handler", "outcome", "schedule"]) {
    const value = String(form.get(key) ?? "").trim()
    if (value) params.set(key, value)
  }
  return params
}

const loadExecutions = async (older = false) => {
  if (!state.hasExecutionLog) return
  const params = execQuery()
  if (older && state.execCursor) params.set("cursor", state.execCursor)
  try {
    const page = await api("GET", `/api/executions?${params}`)
    state.executions = older ? [...state.executions, ...page.executions] : page.executions
    state.execCursor = page.next_cursor
  } catch (error) {
    if (error.status === 404) {
      state.hasExecutionLog = false
      return
    }
    throw error
  }
}

const loadStats = async () => {
  if (!state.hasExecutionLog) return
  try {
    state.stats = await api("GET", "/api/executions/stats")
    state.failures = (await api("GET", "/api/executions/errors?limit=5")).executions
  } catch (error) {
    if (error.status === 404) state.hasExecutionLog = false
    else throw error
  }
}

const loadEdges = async () => {
  const page = await api("GET", "/api/edges")
  state.edges = page.edges
  state.edgeHub = page.hub !== null
}

// ---------- views ----------

const card = (label, value, extra = "") => h("div", { class: "card" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), extra && h("div", { class: "sub" }, extra))

const cancelJob = (job) => {
  const name = job.schedule_id ?? job.task_id
  if (confirm(`Cancel the ${job.status} job of ${name}?`)) {
    act(() => api("POST", `/api/jobs/${encodeURIComponent(job.id)}/cancel`), `Cancelled the job of ${name}`)
  }
}

/** A running or queued job, with a button to cancel it (a running one is interrupted). */
const jobItem = (job) =>
  h(
    "li",
    { "data-job": job.id },
    h("span", {}, badge(job.status), " ", job.schedule_id ?? job.task_id),
    h(
      "span",
      { class: "row" },
      h("span", { class: "sub" }, job.status === "running" ? `started ${relative(parseTime(job.started_at))}` : `queued ${relative(parseTime(job.created_at))}`),
      scheduleAction("Cancel", () => cancelJob(job), "danger admin-only")
    )
  )

const renderOverview = () => {
  const paused = state.schedules.filter((s) => s.paused).length
  const running = state.jobs.filter((j) => j.status === "running")
  const queued = state.jobs.length - running.length
  const online = state.handlers.filter((x) => x.status === "online").length
  const rate = state.stats?.overall.success_rate
  $("#overview-cards").replaceChildren(
    card("Schedules", state.schedules.length, `${paused} paused`),
    card("Running jobs", running.length, `${queued} queued`),
    card("Handlers online", `${online}/${state.handlers.length}`),
    card("Success rate", rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`, state.stats ? `${state.stats.overall.total} runs` : "no execution log"),
    state.edgeHub && card("Edges online", `${edgesOnline()}/${state.edges.length}`)
  )
  $("#overview-running").replaceChildren(
    state.jobs.length === 0
      ? h("p", { class: "muted" }, "Nothing running or queued.")
      : h("ul", { class: "list" }, [...running, ...state.jobs.filter((j) => j.status === "queued").slice(0, 10)].map(jobItem))
  )
  const upcoming = state.schedules
    .filter((s) => !s.paused && s.next_fire_time !== null)
    .sort((a, b) => parseTime(a.next_fire_time) - parseTime(b.next_fire_time))
    .slice(0, 6)
  $("#overview-next").replaceChildren(
    upcoming.length === 0
      ? h("p", { class: "muted" }, "No upcoming fire times.")
      : h("ul", { class: "list" }, upcoming.map((s) => h("li", {}, h("span", {}, s.id), h("span", { class: "countdown sub", "data-at": s.next_fire_time }, relative(parseTime(s.next_fire_time))))))
  )
  const failures = state.failures ?? []
  $("#overview-failures").replaceChildren(
    !state.hasExecutionLog
      ? h("p", { class: "muted" }, "This deployment keeps no execution log.")
      : failures.length === 0
        ? h("p", { class: "muted" }, "No failures recorded.")
        : h("ul", { class: "list" }, failures.map((e) => h("li", {}, h("span", {}, badge(e.outcome), " ", e.schedule_id ?? e.task_id, h("div", { class: "errbox" }, `${e.error?.tag ?? ""}: ${e.error?.message ?? ""}`)), h("span", { class: "sub" }, shortTime(e.finished_at)))))
  )
}

const scheduleAction = (label, action, cls = "") =>
  h("button", { class: `small ${cls}`, type: "button", onclick: action }, label)

const act = async (fn, success) => {
  try {
    await fn()
    if (success) toast(success)
  } catch (error) {
    toast(error.message)
  }
}

const renderSchedules = () => {
  const rows = state.schedules.map((s) =>
    h(
      "tr",
      { "data-id": s.id },
      h("td", {}, h("strong", {}, s.id), h("div", { class: "sub mono" }, s.task_id)),
      h("td", {}, s.handler ? `${s.handler}.${s.method}` : "—"),
      h("td", {}, s.trigger.description),
      h("td", {}, s.paused ? h("span", { class: "muted" }, "paused") : h("span", { class: "countdown", "data-at": s.next_fire_time ?? "" }, relative(parseTime(s.next_fire_time))), h("div", { class: "sub" }, shortTime(s.next_fire_time))),
      h("td", {}, s.paused ? badge("paused") : badge("active")),
      h(
        "td",
        {},
        h(
          "div",
          { class: "actions" },
          s.paused
            ? scheduleAction("Resume", () => act(() => api("POST", `/api/schedules/${encodeURIComponent(s.id)}/resume`), `Resumed ${s.id}`), "admin-only")
            : scheduleAction("Pause", () => act(() => api("POST", `/api/schedules/${encodeURIComponent(s.id)}/pause`), `Paused ${s.id}`), "admin-only"),
          scheduleAction("Run now", () => act(() => api("POST", `/api/schedules/${encodeURIComponent(s.id)}/run`), `Queued a run of ${s.id}`), "admin-only"),
          scheduleAction("Edit", () => openForm(s), "admin-only"),
          scheduleAction("Delete", () => {
            if (confirm(`Delete schedule ${s.id}?`)) act(() => api("DELETE", `/api/schedules/${encodeURIComponent(s.id)}`), `Deleted ${s.id}`)
          }, "danger admin-only")
        )
      )
    )
  )
  $("#schedules-table tbody").replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No schedules yet."))]))
}

/** One instance of a (remote) handler: status, in-flight of capacity, last heartbeat. */
const instanceItem = (i) =>
  h(
    "li",
    { "data-instance": i.instance_id },
    h("span", {}, h("span", { class: "mono" }, i.instance_id), " ", badge(i.status)),
    h("span", { class: "sub" }, `in flight ${i.in_flight}/${i.capacity}${i.last_heartbeat ? ` · heartbeat ${relative(parseTime(i.last_heartbeat))}` : ""}`)
  )

const renderHandlers = () => {
  $("#handlers-cards").replaceChildren(
    ...(state.handlers.length === 0
      ? [h("p", { class: "muted" }, "No handlers registered.")]
      : state.handlers.map((x) =>
          h(
            "div",
            { class: "card handler" },
            h("div", { class: "row" }, h("strong", {}, x.id), badge(x.status), h("span", { class: "sub" }, x.kind)),
            h("div", { class: "sub" }, `methods: ${x.methods.join(", ")}`),
            h("div", { class: "sub" }, `in flight: ${x.in_flight}${x.last_heartbeat ? ` · heartbeat ${relative(parseTime(x.last_heartbeat))}` : ""}`),
            x.instances.length > 0 && h("ul", { class: "list" }, x.instances.map(instanceItem))
          )
        ))
  )
  const select = $("#exec-filters [name=handler]")
  const current = select.value
  select.replaceChildren(h("option", { value: "" }, "all handlers"), ...state.handlers.map((x) => h("option", { value: x.id }, x.id)))
  select.value = current
}

const renderExecutions = (flashSeq = new Set()) => {
  $("#exec-note").hidden = state.hasExecutionLog
  $("#exec-note").textContent = "This deployment keeps no execution log (it needs the SQLite store)."
  const rows = state.executions.map((e) =>
    h(
      "tr",
      { class: flashSeq.has(e.seq) ? "flash" : "", "data-job": e.job_id },
      h("td", {}, shortTime(e.finished_at)),
      h("td", {}, h("strong", {}, e.schedule_id ?? "(run now)"), h("div", { class: "sub mono" }, `${e.handler ?? "?"}.${e.method ?? "?"}`)),
      h("td", {}, badge(e.outcome), e.will_retry ? h("span", { class: "sub" }, " retrying") : null, e.error && h("div", { class: "errbox" }, `${e.error.tag}: ${e.error.message}`)),
      h("td", {}, ms(e.duration_ms)),
      h("td", {}, ms(e.lateness_ms)),
      h("td", {}, `${e.attempt}/${e.max_attempts}`)
    )
  )
  $("#executions-table tbody").replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No executions match."))]))
  $("#exec-more").hidden = !state.execCursor
}

const edgesOnline = () => (state.edges ?? []).filter((e) => e.status === "online").length

/** "+1.2 s ahead", "−40 ms behind": the edge's clock against the server's, as measured at its last hello. */
const skewText = (skewMs) => {
  if (skewMs === null || skewMs === undefined) return "—"
  const size = Math.abs(skewMs)
  if (Math.round(size) === 0) return "0 ms"
  const amount = size < 1000 ? `${Math.round(size)} ms` : `${(size / 1000).toFixed(1)} s`
  return skewMs > 0 ? `+${amount} ahead` : `−${amount} behind`
}

/** Beyond this the skew is flagged: the edge's times in the execution log are its own clock's. */
const skewWarnMs = 2000

/** Assigned schedules and whether the edge runs the latest assignment version. */
const schedulesCell = (e) =>
  h(
    "td",
    { "data-label": "Schedules" },
    e.assigned === 0 && e.latest_version === 0 ? h("span", { class: "muted" }, "none assigned") : `${e.assigned} assigned${e.assigned_paused > 0 ? ` (${e.assigned_paused} paused)` : ""}`,
    e.latest_version > 0 &&
      h("div", { class: "sub" }, e.in_sync ? `runs v${e.applied_version} (latest)` : `runs v${e.applied_version} of v${e.latest_version} `, !e.in_sync && badge("behind", "stale"))
  )

const outboxCell = (e) =>
  h(
    "td",
    { "data-label": "Outbox" },
    e.backlog === null ? h("span", { class: "muted" }, "not reported") : `${e.backlog} waiting`,
    h("div", { class: e.dropped > 0 ? "sub error" : "sub" }, `${e.dropped} dropped`)
  )

const renderEdges = () => {
  if (state.edges === null) return
  const note = $("#edges-note")
  note.hidden = state.edgeHub && state.edges.length > 0
  note.textContent = !state.edgeHub
    ? "No edges configured: this server runs no edge hub (the `edges` section of its config)."
    : "No edges yet: list them under edges.credentials in the server's config."
  $("#edges-panel").hidden = state.edges.length === 0
  $("#edges-summary").textContent = state.edgeHub ? `${edgesOnline()} of ${state.edges.length} online` : ""
  const rows = state.edges.map((e) =>
    h(
      "tr",
      { "data-edge": e.edge_id },
      h(
        "td",
        {},
        h("strong", { class: "mono" }, e.edge_id),
        h("div", { class: "sub" }, e.configured ? (e.registered_at ? `connected ${shortTime(e.registered_at)}` : "never connected") : "credential removed")
      ),
      h("td", {}, badge(e.status.replace("_", " "), e.status)),
      h(
        "td",
        { "data-label": "Last seen" },
        e.last_seen_at === null ? h("span", { class: "muted" }, "never") : [h("span", { class: "ago", "data-at": e.last_seen_at }, ago(parseTime(e.last_seen_at))), h("div", { class: "sub" }, shortTime(e.last_seen_at))]
      ),
      outboxCell(e),
      h("td", { "data-label": "Clock skew" }, h("span", { class: Math.abs(e.clock_skew_ms ?? 0) >= skewWarnMs ? "skew badge b-stale" : "skew" }, skewText(e.clock_skew_ms))),
      schedulesCell(e)
    )
  )
  $("#edges-table tbody").replaceChildren(...rows)
}

const render = () => {
  renderOverview()
  renderSchedules()
  renderHandlers()
  renderExecutions()
  renderEdges()
}

/** How often the edges view re-reads /api/edges while shown. */
const edgePollMs = 2000

const views = ["overview", "schedules", "handlers", "executions", "edges"]

const showView = (view) => {
  state.view = views.includes(view) ? view : "overview"
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${state.view}`
  for (const link of document.querySelectorAll("#nav a")) link.classList.toggle("active", link.dataset.view === state.view)
}

// ---------- form ----------

const form = () => $("#schedule-form")

const fillMethods = () => {
  const handler = state.handlers.find((x) => x.id === form().handler.value)
  const current = form().method.value
  form().method.replaceChildren(...(handler?.methods ?? []).map((m) => h("option", { value: m }, m)))
  if (handler?.methods.includes(current)) form().method.value = current
}

const showKind = () => {
  for (const label of form().querySelectorAll("[data-kind]")) label.hidden = label.dataset.kind !== form().kind.value
}

/** The trigger spec the form describes; throws with a message when it is not even well-formed. */
const triggerSpec = () => {
  const f = form()
  switch (f.kind.value) {
    case "cron":
      return { type: "cron", expr: f.expr.value.trim(), timezone: f.timezone.value.trim() || "UTC" }
    case "interval":
      return { type: "interval", [f.unit.value]: Number(f.every.value) }
    case "date":
      return { type: "date", run_time: f.run_time.value.trim() }
    default:
      try {
        return JSON.parse(f.spec.value)
      } catch {
        throw new Error("specification: not valid JSON")
      }
  }
}

let previewTimer
let previewSeq = 0
const schedulePreview = () => {
  clearTimeout(previewTimer)
  previewTimer = setTimeout(runPreview, 200)
}

const runPreview = async () => {
  const seq = ++previewSeq
  const box = $("#preview")
  let spec
  try {
    spec = triggerSpec()
  } catch (error) {
    box.className = "preview invalid"
    box.textContent = error.message
    return
  }
  try {
    const result = await api("POST", "/api/triggers/preview", { trigger: spec, count: 5 })
    if (seq !== previewSeq) return
    box.className = "preview valid"
    box.replaceChildren(
      h("div", {}, h("strong", {}, result.description)),
      result.fire_times.length === 0 ? h("div", { class: "muted" }, "No fire times.") : h("ol", {}, result.fire_times.map((t) => h("li", { class: "mono" }, t)))
    )
  } catch (error) {
    if (seq !== previewSeq) return
    box.className = "preview invalid"
    box.textContent = error.message
  }
}

const openForm = (schedule = null) => {
  state.editing = schedule
  const f = form()
  f.reset()
  $("#schedule-form-panel").hidden = false
  $("#form-title").textContent = schedule ? `Edit ${schedule.id}` : "New schedule"
  $("#form-submit").textContent = schedule ? "Save" : "Create"
  $("#form-error").textContent = ""
  f.id.disabled = schedule !== null
  f.handler.disabled = schedule !== null
  f.method.disabled = schedule !== null
  f.handler.replaceChildren(...state.handlers.map((x) => h("option", { value: x.id }, x.id)))
  if (schedule) {
    f.id.value = schedule.id
    if (schedule.handler) f.handler.value = schedule.handler
    fillMethods()
    if (schedule.method) f.method.value = schedule.method
    f.kind.value = "json"
    f.spec.value = JSON.stringify(schedule.trigger.spec, null, 1)
    f.kwargs.value = JSON.stringify(schedule.kwargs)
    f.paused.checked = schedule.paused
  } else {
    fillMethods()
  }
  showKind()
  runPreview()
  f.scrollIntoView({ behavior: "smooth", block: "start" })
}

const submitForm = async (event) => {
  event.preventDefault()
  const f = form()
  const errorBox = $("#form-error")
  errorBox.textContent = ""
  let trigger
  let kwargs
  try {
    trigger = triggerSpec()
    kwargs = JSON.parse(f.kwargs.value || "{}")
  } catch (error) {
    errorBox.textContent = error instanceof SyntaxError ? "keyword arguments: not valid JSON" : error.message
    return
  }
  try {
    if (state.editing) {
      await api("PATCH", `/api/schedules/${encodeURIComponent(state.editing.id)}`, { trigger, kwargs, paused: f.paused.checked })
      toast(`Saved ${state.editing.id}`)
    } else {
      const body = { handler: f.handler.value, method: f.method.value, trigger, kwargs, paused: f.paused.checked }
      if (f.id.value.trim()) body.id = f.id.value.trim()
      const created = await api("POST", "/api/schedules", body)
      toast(`Created ${created.id}`)
    }
    $("#schedule-form-panel").hidden = true
    await loadSchedules()
    render()
  } catch (error) {
    errorBox.textContent = error.message
  }
}

// ---------- live stream ----------

const setLive = (mode, text) => {
  $("#live").className = `live ${mode}`
  $("#live-text").textContent = text
}

let refreshQueued = false
/** Many events can arrive at once (a burst of jobs): reload at most once per animation frame. */
const refresh = (what) => {
  for (const item of what) pending.add(item)
  if (refreshQueued) return
  refreshQueued = true
  requestAnimationFrame(async () => {
    refreshQueued = false
    const items = [...pending]
    pending.clear()
    const before = new Set(state.executions.map((e) => e.seq))
    try {
      await Promise.all(items.map((item) => loaders[item]()))
    } catch (error) {
      toast(error.message)
    }
    renderOverview()
    renderSchedules()
    renderHandlers()
    renderExecutions(new Set(state.executions.map((e) => e.seq).filter((seq) => !before.has(seq))))
    renderEdges()
  })
}
const pending = new Set()
/** Schedules changed since the last refresh: re-read one by one rather than the whole list. */
const changedSchedules = new Set()

/** Beyond this many changed schedules, reading the whole list in pages is cheaper than one request each. */
const oneByOneLimit = 50

/** Re-reads the changed schedules (a removed one answers 404) and keeps the list in id order. */
const loadChangedSchedules = async () => {
  const ids = [...changedSchedules]
  changedSchedules.clear()
  if (ids.length > oneByOneLimit) return loadSchedules()
  const fresh = await Promise.all(
    ids.map((id) => api("GET", `/api/schedules/${encodeURIComponent(id)}`).catch((error) => (error.status === 404 ? null : Promise.reject(error))))
  )
  const byId = new Map(state.schedules.map((s) => [s.id, s]))
  ids.forEach((id, i) => {
    if (fresh[i] === null) byId.delete(id)
    else byId.set(id, fresh[i])
  })
  state.schedules = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

const loaders = {
  schedules: loadSchedules,
  changedSchedules: loadChangedSchedules,
  jobs: loadJobs,
  handlers: loadHandlers,
  executions: () => loadExecutions(),
  stats: loadStats,
  edges: loadEdges
}

const onEvent = (type, data) => {
  if (type === "ScheduleAdded" || type === "ScheduleUpdated" || type === "ScheduleRemoved") {
    changedSchedules.add(data.scheduleId)
    refresh(["changedSchedules"])
  } else if (type.startsWith("Task")) refresh(["schedules"])
  else if (type === "JobAdded" || type === "JobAcquired") refresh(["jobs"])
  else if (type === "JobReleased") refresh(["jobs", "executions", "stats"])
  // an edge's events arrive with its delivered rows: its backlog and executions changed too
  else if (type === "EdgeEvent") refresh(["edges", "executions", "stats"])
}

const connect = async () => {
  let delay = 1000
  for (;;) {
    try {
      const headers = state.token ? { authorization: `Bearer ${state.token}` } : {}
      const response = await fetch("/api/events", { headers })
      if (response.status === 401) {
        setLive("off", "sign in")
        showTokenPanel()
        return
      }
      if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`)
      setLive("on", "live")
      delay = 1000
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ""
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += value
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const frame = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const lines = frame.split("\n")
          const type = lines.find((line) => line.startsWith("event: "))?.slice(7)
          const data = lines.find((line) => line.startsWith("data: "))?.slice(6)
          if (type && data) onEvent(type, JSON.parse(data))
        }
      }
    } catch {
      // reconnect below
    }
    setLive("off", "reconnecting…")
    await new Promise((resolve) => setTimeout(resolve, delay))
    delay = Math.min(delay * 2, 15000)
    refresh(["schedules", "jobs", "handlers", "executions", "stats", "edges"])
  }
}

// ---------- start ----------

const tick = () => {
  for (const el of document.querySelectorAll(".countdown[data-at]")) {
    const at = el.dataset.at
    if (at) el.textContent = relative(new Date(at))
  }
  for (const el of document.querySelectorAll(".ago[data-at]")) el.textContent = ago(new Date(el.dataset.at))
}

/** Viewers see no buttons for what their role may not do (the API would answer 403). */
const loadSession = async () => {
  const session = await api("GET", "/api/session")
  document.body.classList.toggle("viewer", session.role === "viewer")
}

const start = async () => {
  try {
    await Promise.all([loadSession(), loadSchedules(), loadHandlers(), loadJobs(), loadEdges()])
    await Promise.all([loadExecutions(), loadStats()])
  } catch (error) {
    if (error.status !== 401) toast(error.message)
    return
  }
  $("#token-panel").hidden = true
  render()
  connect()
}

document.addEventListener("DOMContentLoaded", () => {
  showView(location.hash.slice(1))
  window.addEventListener("hashchange", () => {
    showView(location.hash.slice(1))
    if (state.view === "edges" && state.edgeHub) refresh(["edges"])
  })
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault()
    state.token = $("#token-input").value.trim()
    localStorage.setItem("sz.token", state.token)
    start()
  })
  $("#new-schedule").addEventListener("click", () => openForm(null))
  $("#form-cancel").addEventListener("click", () => {
    $("#schedule-form-panel").hidden = true
  })
  form().addEventListener("submit", submitForm)
  form().addEventListener("input", (event) => {
    if (event.target.name === "handler") fillMethods()
    if (event.target.name === "kind") showKind()
    if (!["kwargs", "id", "paused"].includes(event.target.name)) schedulePreview()
  })
  form().addEventListener("change", (event) => {
    if (event.target.name === "handler") fillMethods()
    if (event.target.name === "kind") {
      showKind()
      schedulePreview()
    }
  })
  $("#exec-filters").addEventListener("input", () => refresh(["executions"]))
  $("#exec-more").addEventListener("click", () => loadExecutions(true).then(() => renderExecutions()))
  setInterval(tick, 1000)
  setInterval(() => {
    if (state.view === "edges" && !document.hidden && state.edgeHub) refresh(["edges"])
  }, edgePollMs)
  start()
})
