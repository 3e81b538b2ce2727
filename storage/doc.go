// Package storage is xaad's key-value store: named buckets of opaque values in
// a single bbolt file, with a versioned schema and a [Sealer] applied to every
// value. It knows nothing of OAuth; the broker owns what the records mean and
// reaches the store through an interface it declares itself.
//
// Use [Open] for the on-disk store and [NewMem] for an in-memory one with the
// same behaviour (both satisfy [Store] and pass storage/storagetest's suite).
//
// # Sealing
//
// Every value passes through [Options.Sealer] on its way in and out, with the
// bucket and key as context so a sealed value cannot be moved to another slot
// unnoticed. Callers of [DB.Get] and [DB.List] (the broker among them) only
// ever see plaintext: sealed bytes never leave this package. The default
// sealer does not encrypt but still frames each value with a one-byte format
// tag, so that files written today can be told apart from sealed ones later.
//
// # Caveats
//
// Only one process may hold the database at a time: bbolt takes an exclusive
// flock, and a second [Open] of the same file (from another process, or from
// this one through a second file description) fails with [ErrLocked] after
// [Options.LockTimeout].
package storage
