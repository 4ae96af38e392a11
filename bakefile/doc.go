// Package bakefile reads what `gorae bake` builds: Compose files (their
// build sections, through compose-spec's loader) and bake files
// (docker-bake.hcl and .json: targets, groups, inherits, variables,
// functions, matrix), found in buildx's lookup order and merged as buildx
// merges several -f files, with --set overrides; it resolves the
// requested targets and groups and prints them as `--print` and `--list`
// show them.
//
// bakefile is level 0: it imports no gorae package, never the builder or
// the scheduler (bake).
package bakefile
