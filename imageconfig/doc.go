// Package imageconfig is the image config JSON as Docker and BuildKit
// write it: go-containerregistry's v1.ConfigFile, field for field and in
// the same order (so a config ggcr would write comes out byte for byte the
// same), plus the fields ggcr has no place for, such as
// config.Healthcheck.StartInterval (HEALTHCHECK --start-interval, Docker
// 25). gorae reads base configs, builds on them and writes its own with
// this type, so such a field is neither dropped from a base image nor left
// out of a build.
//
// imageconfig is level 0: it imports only the standard library and
// go-containerregistry's v1 types, never another gorae package.
package imageconfig
