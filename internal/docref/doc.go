// Package docref checks the references the code makes to the repository's
// own documents: a comment or script that leans on a rule cites
// docs/protocol.md, docs/architecture.md or docs/toolchain.md by section
// ("docs/protocol.md §2 step 7.2", "docs/protocol.md §6 items 25-33",
// "docs/toolchain.md §4"), and [Check] reports a citation without the docs/
// prefix, of a document the repository does not have, or of a section, step
// or item the document does not have. Its test runs the check over the
// whole tree.
package docref

// Docs are the documents code may cite, by path from the repository root.
var Docs = []string{"docs/protocol.md", "docs/architecture.md", "docs/toolchain.md"}
