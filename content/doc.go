// Package content is gorae's content-addressed blob store: every layer
// (compressed), config and manifest lives once at DIR/blobs/sha256/<hex>,
// named by the SHA-256 of its bytes. WriteFile gives small files that are
// not blobs (an index, an --iidfile) the same all-or-nothing write.
//
// content is level 0: it imports only the standard library and
// go-containerregistry's v1 types, never another gorae package.
//
// Writes go to a temp file in a directory on the same filesystem, are
// hashed while they stream, checked against the expected digest, fsynced and
// renamed into place. A blob therefore either exists complete and correct
// or not at all; a crash leaves only temp files, which the caller cleans at
// start-up. Committing a blob that already exists is a no-op, so any number
// of goroutines or processes may write the same blob at once.
//
// A Fetcher (SetFetcher) makes the store lazy: Open of a missing blob
// fetches it (from a remote cache), verifies and stores it as above, then
// serves it; Has and Size never fetch.
//
// A blob may also be lazy (remote.go): a stored image needs it, but its
// bytes stay in a registry, named by a remote record at
// DIR/remote/sha256/<hex>, until a RemoteFetcher (SetRemoteFetcher)
// fetches them on Open. Has and Walk still mean "the bytes are local";
// storing the bytes removes the record.
package content
