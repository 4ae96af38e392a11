// Package sbom lists the software in an image's root filesystem: it reads
// the package databases directly (dpkg, apk, rpm's SQLite database, Go
// binaries' build info, Python dist-info and egg-info, npm lockfiles and
// installed package.json files) with no external tool, and writes the
// list as a deterministic SPDX 2.3 JSON document such as BuildKit
// attaches as an SBOM attestation.
//
// Scan reads only through the fs.FS it is given and resolves symlinks
// itself, inside that tree: a link to /etc/shadow means the image's
// /etc/shadow, never the host's.
//
// sbom is level 1: it imports archive (level 0, for its FS contract),
// tools-golang's SPDX model and packageurl-go, never a gorae package
// above level 0.
package sbom
