// Package gitsource fetches git repositories for ADD <git URL>, git build
// contexts and --build-context NAME=<git URL>, as BuildKit's git source
// does: it parses BuildKit's git URL forms (https://host/repo.git#ref:dir,
// git@host:org/repo.git, ssh://, git://, query options such as ?branch=),
// resolves a ref to a commit with `git ls-remote`, fetches shallowly into
// a bare repository shared per remote, and checks the commit out into a
// directory named by what it holds (commit, subdirectory, .git kept or
// not), so an unchanged commit is never fetched or checked out twice.
//
// It runs the git binary with BuildKit's environment (no system or user
// git config, no terminal prompts, ssh without a config file), never a Go
// git implementation.
//
// gitsource is level 0: it imports only the standard library, never another gorae package.
package gitsource
