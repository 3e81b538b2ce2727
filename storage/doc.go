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
// Every value is sealed with AES-256-GCM under the data key of [Options.Key],
// with additional data binding the bucket, the key and the schema version,
// so a value moved to another slot, or a changed byte, fails to open
// ([ErrTampered]). Callers of [DB.Get] and [DB.List] (the broker among them)
// only ever see plaintext: sealed bytes never leave this package. Each
// stored value starts with a one-byte format tag ([FormatAESGCM]; schema 1
// files hold [FormatPlain] values and are sealed by their migration).
//
// The file records the [KeyID] of its key and a sealed key check, so a wrong
// key is refused at Open ([ErrWrongKey]) before anything is written, and
// [Inspect] tells which key a file needs. [DB.Rekey] re-seals everything
// under a new key in one transaction. The key itself never enters the file:
// the daemon's key providers keep it elsewhere.
//
// # Schema
//
// [SchemaVersion] is stored in the _meta bucket. [Open] migrates an older
// file inside one write transaction (all or nothing) and refuses a newer one
// untouched ([ErrSchemaTooNew]). [DB.Verify] checks the pages and that every
// value opens; [MoveAside] keeps a damaged file under a new name.
//
// # Damaged files
//
// bbolt maps the file and trusts what it finds there: on a damaged file it
// faults (SIGBUS past the end of a truncated file) or panics, in places no
// recover reaches. [Open] and [Inspect] therefore run [CheckFile] first,
// under the file lock, and it refuses with [ErrCorrupt] every file in
// which bbolt could read outside the file or trip over its own assertions.
// A panic or memory fault that still happens while opening, inspecting,
// migrating or verifying is returned as [ErrCorrupt] as well. A read error
// is returned as it is: it says nothing about the bytes on the disk.
//
// # Caveats
//
// Only one process may hold the database at a time: bbolt takes an exclusive
// flock, and a second [Open] of the same file (from another process, or from
// this one through a second file description) fails with [ErrLocked] after
// [Options.LockTimeout].
package storage
