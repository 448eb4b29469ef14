/** Shared pieces of the zmq registry tests: jobs, tasks and a registry on a free port. */
import { randomUUID } from "node:crypto"
import { Layer } from "effect"
import * as Zmq from "../../../../src/components/registry/Zmq.js"
import { Job } from "../../../../src/domain/Job.js"
import { Task } from "../../../../src/domain/Task.js"

export const token = "test-token"

export const task = (method: string, fields: { handler?: string; timeoutMs?: number | null; maxAttempts?: number } = {}) =>
  Task.make({
    id: `task-${method}` as Task["id"],
    handler: (fields.handler ?? "test") as Task["handler"],
    method,
    timeoutMs: fields.timeoutMs ?? null
  })

export const job = (fields: { id?: string; attempt?: number; kwargs?: Record<string, unknown>; args?: Array<unknown>; startDeadline?: Date | null } = {}) =>
  Job.make({
    id: (fields.id ?? randomUUID()) as Job["id"],
    taskId: "task" as Job["taskId"],
    createdAt: new Date(),
    attempt: fields.attempt ?? 1,
    args: fields.args ?? [],
    kwargs: fields.kwargs ?? {},
    startDeadline: fields.startDeadline ?? null
  })

export const registryLayer = (options: Zmq.ZmqRegistryOptions = {}) =>
  Zmq.layer({
    endpoint: "tcp://127.0.0.1:0",
    heartbeatInterval: "100 millis",
    credentials: { test: Zmq.hashToken(token), other: Zmq.hashToken("other-token") },
    ...options
  }).pipe(Layer.provide(Zmq.MemoryDirectory.layer))
