// Package snapshot holds layered filesystems: each layer chain of an image
// unpacked once into an overlay lower directory, and a View that reads a
// stack of such directories as one tree, resolving paths as overlayfs
// would, without mounting anything.
//
// snapshot is level 1: it imports only archive, go-containerregistry's v1
// types and the standard library; never ops, builder, content or store.
//
// # Lifecycle
//
// A layer is identified by its chain ID (OCI: the digest of the whole
// chain of diffIDs below and including it), so the same directory serves
// every image and every build that shares the chain, whatever the base
// image's name:
//
//  1. Unpack: for each prefix of an image's layers, Store.Unpack makes sure
//     $GORAE_ROOT/snapshots/<chainID>/fs exists. It holds only that top
//     layer's own entries in overlay format (whiteouts as 0/0 character
//     devices, opaque directories marked with trusted.overlay.opaque, or
//     user.overlay.opaque in a user namespace), so it
//     is exactly an overlay lower directory. It is unpacked once, into a
//     temporary directory beside it, checked against the diffID and
//     renamed into place: a crash or cancel never leaves a half-unpacked
//     directory under a chain ID, and concurrent builds (in one process or
//     several) wait on a per-chain file lock, then reuse the winner's work.
//  2. Read: metadata questions (does COPY's destination exist, who owns
//     its parents) are answered by NewIndexView over the layers' indexes
//     ($GORAE_ROOT/snapshots/index/<diffID>.idx, written while gorae writes
//     a layer, or built once from a base layer's tar headers), without
//     unpacking anything. Content (COPY --from, /etc/passwd for --chown
//     NAME) comes from NewView(dirs), bottom first, after Unpack, with no
//     mount and no copy.
//  3. Run: Store.Prepare mounts the same fs directories as lowerdir=
//     (top first), with a fresh upper and work directory per RUN, or
//     copies them where overlayfs cannot be used; Active.Diff writes the
//     layer (both ways give the same bytes: conformance_test.go), and
//     Active.Commit makes it the next chain's fs directory. See
//     docs/snapshots.md.
//  4. Remove (prune): a chain directory may go once no image, cache record
//     or lease refers to it; removal renames it away before deleting, so a
//     reader never sees it half gone.
package snapshot
