// Package attest holds image attestations as BuildKit stores them and
// buildx reads them: in-toto Statement v1 documents (Statement) with a
// SLSA provenance v1 predicate (Provenance) or any other (an SPDX
// document), and the attestation manifest that carries one image's
// statements (NewManifest): an OCI image manifest whose layers are the
// statements, with an empty config, the image as its subject and the
// attestation artifact type, referenced from the image index by a
// descriptor with platform unknown/unknown and the
// vnd.docker.reference.* annotations (Addendum). Attached and Read find
// and read them back. Parse reads the --attest, --provenance and --sbom
// flags as buildx does. docs/attestations.md describes the layout and
// where gorae differs from BuildKit.
//
// attest is level 0: it imports only the standard library and
// go-containerregistry, never another gorae package.
package attest
