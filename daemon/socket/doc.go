// Package socket gives the daemon its listening Unix socket, either one it
// makes itself ([Listen]) or the one systemd passes in ([FromSystemd]), and
// tells systemd about the daemon's state ([Notify], [Ready], [Stopping],
// [Status]).
//
// Access control rests on the file system here (a private 0700 directory and
// a 0600 socket) and on the peer-credential check at accept time
// (internal/peercred); neither alone is the whole story.
package socket
