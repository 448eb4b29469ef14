/**
 * The two loops every protocol socket needs, because a zeromq socket allows one
 * pending receive() and one pending send() at a time: one reads and fans frame
 * sets out to a callback, one drains an outbox and writes. The outbox batches:
 * everything queued for the same destination since the last write leaves as
 * one frame set.
 *
 * The registry's and the handler's loops (readFrames, makeOutbox) run once per
 * frame set at tens of thousands a second, so their hot path is plain
 * callbacks and promises: a fiber hop per frame set costs more than the rest
 * of the work. Effects appear only where something else has to happen (a log
 * line, a store write), and run in order on a fiber of their own.
 */
import { Effect, Queue } from "effect"
import type * as zmq from "zeromq"
import { encodeSets, type FramingVersion } from "./framing.js"

/**
 * Reads frame sets until the socket closes (receive then rejects), passing each
 * to `onFrames`. Interrupting the fiber leaves the pending receive to be
 * rejected by close().
 */
export const receiveLoop = <E, R>(
  socket: zmq.Readable,
  onFrames: (frames: Array<Buffer>) => Effect.Effect<void, E, R>
): Effect.Effect<void, E, R> =>
  Effect.gen(function*() {
    while (true) {
      const frames = yield* Effect.tryPromise(() => socket.receive()).pipe(Effect.option)
      if (frames._tag === "None") return
      yield* onFrames(frames.value)
    }
  })

/**
 * Reads frame sets until the socket closes, handing each to `onFrames` at once
 * (no fiber in between). `onFrames` returns the effect of what else must
 * happen, if anything; those effects run one after another, in the order of
 * the frame sets, on this effect's fiber. A defect thrown by `onFrames` ends
 * the loop with that defect.
 */
export const readFrames = <R>(
  socket: Pick<zmq.Readable, "receive">,
  onFrames: (frames: Array<Buffer>) => Effect.Effect<void, never, R> | undefined
): Effect.Effect<void, never, R> =>
  Effect.gen(function*() {
    const followUps = yield* Queue.unbounded<Effect.Effect<void, never, R>>()
    const reader = Effect.async<void>((resume) => {
      let stopped = false
      const loop = async () => {
        while (!stopped) {
          let frames: Array<Buffer>
          try {
            frames = await socket.receive()
          } catch {
            return resume(Effect.void)
          }
          if (stopped) return
          try {
            const followUp = onFrames(frames)
            if (followUp !== undefined) Queue.unsafeOffer(followUps, followUp)
          } catch (defect) {
            return resume(Effect.die(defect))
          }
        }
      }
      void loop()
      return Effect.sync(() => {
        stopped = true
      })
    })
    yield* Effect.raceFirst(reader, Effect.forever(Effect.flatten(Queue.take(followUps))))
  })

export interface Envelope<K> {
  /** Where the message goes: a ROUTER peer's routing id, or null for a DEALER's one peer. */
  readonly to: K
  readonly message: unknown
}

export interface Outbox<K> {
  /** Queues a message; never blocks. */
  readonly post: (to: K, message: unknown) => void
  /** Starts writing what is queued now instead of in a microtask (when no write is under way). */
  readonly flush: () => void
  /** Keeps the outbox writing until interrupted; then nothing more is written. */
  readonly drain: Effect.Effect<never>
  /** Waits until everything posted so far has been written. */
  readonly flushed: Effect.Effect<void>
}

/**
 * Messages posted by the code running now (a fiber's synchronous stretch, a
 * frame set being applied) leave together: the write starts in a microtask,
 * and whatever is posted while a write is under way follows in the next one.
 * A microtask rather than the next event-loop phase: the reply leaves before
 * the loop polls again (tens of microseconds per round trip), and a batch is
 * still as large as what one synchronous stretch posts (a whole acquired batch
 * of runs, the results of a whole frame set).
 */
export const makeOutbox = <K>(
  keyOf: (to: K) => string,
  write: (to: K, frames: Array<Buffer | string>) => Promise<void>,
  /** The framing the destination reads (see framing.ts); asked once per write. */
  framingOf: (to: K) => FramingVersion = () => 2
): Effect.Effect<Outbox<K>> =>
  Effect.sync(() => {
    let queued: Array<Envelope<K>> = []
    let writing = false
    let scheduled = false
    let closed = false
    let posted = 0
    let written = 0
    const waiters: Array<{ readonly upTo: number; readonly done: () => void }> = []

    const ignore = () => undefined
    const writeGroup = (to: K, messages: ReadonlyArray<unknown>): Promise<void> => {
      const sets = encodeSets(messages, framingOf(to))
      // A closed socket or an unroutable peer loses the message, as the protocol allows.
      return sets.length === 1 ? write(to, sets[0]!).catch(ignore) : writeSets(to, sets)
    }

    const writeSets = async (to: K, sets: ReadonlyArray<Array<Buffer | string>>) => {
      for (const frames of sets) await write(to, frames).catch(ignore)
    }

    const writeBatch = (batch: ReadonlyArray<Envelope<K>>) => {
      // One message (a round trip at a time) needs no grouping.
      if (batch.length === 1) return writeGroup(batch[0]!.to, [batch[0]!.message])
      return writeGroups(batch)
    }

    const writeGroups = async (batch: ReadonlyArray<Envelope<K>>) => {
      const groups = new Map<string, { to: K; messages: Array<unknown> }>()
      // Runs of messages to the same destination object (the common case) skip keyOf.
      let last: { to: K; messages: Array<unknown> } | undefined
      for (const envelope of batch) {
        if (last !== undefined && last.to === envelope.to) {
          last.messages.push(envelope.message)
          continue
        }
        const key = keyOf(envelope.to)
        last = groups.get(key)
        if (last === undefined) {
          last = { to: envelope.to, messages: [envelope.message] }
          groups.set(key, last)
        } else last.messages.push(envelope.message)
      }
      for (const group of groups.values()) await writeGroup(group.to, group.messages)
    }

    const writeAll = async () => {
      scheduled = false
      if (writing) return
      writing = true
      while (queued.length > 0 && !closed) {
        const batch = queued
        queued = []
        try {
          await writeBatch(batch)
        } catch {
          // An unencodable message (a bug upstream) loses its batch, never the outbox.
        }
        written += batch.length
        for (let i = waiters.length - 1; i >= 0; i--) {
          if (waiters[i]!.upTo <= written) waiters.splice(i, 1)[0]!.done()
        }
      }
      writing = false
    }

    return {
      post: (to, message) => {
        posted++
        queued.push({ to, message })
        if (!writing && !scheduled && !closed) {
          scheduled = true
          queueMicrotask(writeAll)
        }
      },
      flush: () => {
        if (scheduled && !writing) void writeAll()
      },
      drain: Effect.async<never>(() =>
        Effect.sync(() => {
          closed = true
        })
      ),
      // With a canceler, so a timeout around it can end the wait (a send may wait for a peer forever).
      flushed: Effect.async<void>((resume) => {
        if (written >= posted) return resume(Effect.void)
        const waiter = { upTo: posted, done: () => resume(Effect.void) }
        waiters.push(waiter)
        return Effect.sync(() => {
          const index = waiters.indexOf(waiter)
          if (index >= 0) waiters.splice(index, 1)
        })
      })
    }
  })
