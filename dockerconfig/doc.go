// Package dockerconfig reads and writes Docker's client configuration
// (config.json) the way the docker CLI does, so that docker login and
// gorae login are interchangeable: credentials go to the credential
// helper named by credHelpers or credsStore (docker-credential-NAME),
// else into "auths" as base64 user:password; every other key of the file
// is kept, and the file is replaced atomically with mode 0600.
//
// Reading credentials for registry access is go-containerregistry's
// authn.DefaultKeychain, which reads the same file and helpers; this
// package only stores and erases them.
//
// dockerconfig is level 0: it imports the standard library and
// docker-credential-helpers' client only, never another gorae package.
package dockerconfig
