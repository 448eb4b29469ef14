/**
 * The two loops every protocol socket needs, because a zeromq socket allows one
 * pending receive() and one pending send() at a time: one fiber reads and fans
 * frame sets out to a callback, one fiber drains an outbox and writes. The
 * outbox batches: everything queued for the same destination since the last
 * write leaves as one frame set.
 */
import { Chunk, Effect, Queue } from "effect"
import type * as zmq from "zeromq"
import { encode, type FramingVersion, maxMessagesPerFrameSet } from "./framing.js"

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

export interface Envelope<K> {
  /** Where the message goes: a ROUTER peer's routing id, or null for a DEALER's one peer. */
  readonly to: K
  readonly message: unknown
}

export interface Outbox<K> {
  /** Queues a message; never blocks. */
  readonly post: (to: K, message: unknown) => void
  /** Writes everything queued, in order, grouping per destination; runs until interrupted. */
  readonly drain: Effect.Effect<never>
  /** Waits until everything posted so far has been written. */
  readonly flushed: Effect.Effect<void>
}

export const makeOutbox = <K>(
  keyOf: (to: K) => string,
  write: (to: K, frames: Array<Buffer | string>) => Promise<void>,
  /** The framing the destination reads (see framing.ts); asked once per write. */
  framingOf: (to: K) => FramingVersion = () => 2
): Effect.Effect<Outbox<K>> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Envelope<K>>()
    let posted = 0
    let written = 0
    const waiters: Array<{ readonly upTo: number; readonly done: () => void }> = []
    const writeBatch = (batch: ReadonlyArray<Envelope<K>>) =>
      Effect.promise(async () => {
        const groups = new Map<string, { to: K; messages: Array<unknown> }>()
        for (const envelope of batch) {
          const key = keyOf(envelope.to)
          const group = groups.get(key)
          if (group === undefined) groups.set(key, { to: envelope.to, messages: [envelope.message] })
          else group.messages.push(envelope.message)
        }
        for (const group of groups.values()) {
          for (let i = 0; i < group.messages.length; i += maxMessagesPerFrameSet) {
            // A closed socket or an unroutable peer loses the message, as the protocol allows.
            const chunk = i === 0 && group.messages.length <= maxMessagesPerFrameSet
              ? group.messages
              : group.messages.slice(i, i + maxMessagesPerFrameSet)
            await write(group.to, encode(chunk, framingOf(group.to))).catch(() => undefined)
          }
        }
      })
    // Waking on the first message, then yielding once, lets the fibers that are
    // posting in the same tick add theirs: one write carries them all.
    const drain = Effect.forever(
      Effect.flatMap(Queue.take(queue), (first) =>
        Effect.zipRight(Effect.yieldNow(), Effect.map(Queue.takeUpTo(queue, 50_000), (rest) => Chunk.prepend(rest, first)))
      ).pipe(Effect.flatMap((chunk) =>
        writeBatch(Chunk.toReadonlyArray(chunk)).pipe(
          Effect.tap(() => {
            written += chunk.length
            for (let i = waiters.length - 1; i >= 0; i--) {
              if (waiters[i]!.upTo <= written) waiters.splice(i, 1)[0]!.done()
            }
          })
        )))
    )
    return {
      post: (to, message) => {
        posted++
        Queue.unsafeOffer(queue, { to, message })
      },
      drain,
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
