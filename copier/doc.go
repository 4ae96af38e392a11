// Package copier produces the layer tar of one COPY or ADD instruction
// straight from its sources, with Docker's (BuildKit's) semantics: wildcard
// and symlink resolution inside each source root, directory contents
// copying, destination parents, --chown, --chmod, --parents, --exclude,
// --link, heredocs (inline sources) and ADD's archive extraction. It also
// parses .dockerignore files, hides ignored paths of a build context, and
// resolves users and groups from a filesystem's /etc/passwd and /etc/group.
//
// copier is level 1: it imports archive, graph, github.com/moby/patternmatcher
// and the standard library, never snapshot, ops, builder or anything above.
package copier
