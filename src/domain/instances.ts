/**
 * Instances of Schema classes (jobs, schedules, events, results) built
 * without their constructors, for per-job paths (the memory store, the
 * scheduler's job and schedule loops).
 *
 * Even with validation off, a Schema class constructor copies its input three
 * times and walks the field defaults: about 8x slower than building the
 * object directly, and the scheduler and store make a job, a result and two
 * or three events for every job. The objects built here are what the
 * constructor would make from already-valid input: the class's prototype and
 * the same own fields.
 */

/** A copy of `instance` with some fields changed. */
export const withFields = <A extends object>(instance: A, fields: Partial<A>): A =>
  Object.setPrototypeOf({ ...instance, ...fields }, Object.getPrototypeOf(instance)) as A

/**
 * An instance of `Class` made from `fields`, every field it has (for a TaggedClass,
 * `_tag` included). `fields` must be a fresh object literal: it becomes the instance
 * (given the class's prototype) rather than being copied, a third of the cost.
 */
export const instanceOf = <A extends object>(Class: { readonly prototype: A }, fields: A): A =>
  Object.setPrototypeOf(fields, Class.prototype) as A
