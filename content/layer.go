package content

import (
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Layer returns a v1.Layer over the stored compressed blob digest. diffID
// may be zero (it is then computed by decompressing on first request) and
// size may be 0 (it is then read from the file). Uncompressed streams
// through gzip or zstd according to the blob's magic bytes, which for a
// well-formed image is what its media type says; an uncompressed tar is
// passed through. Nothing is read until a method needs it, so a missing
// blob surfaces from Compressed, not here.
func (s *Store) Layer(digest, diffID v1.Hash, size int64, mt types.MediaType) v1.Layer {
	b := &blobLayer{s: s, digest: digest, size: size, mt: mt}
	var cl partial.CompressedLayer = b
	if diffID != (v1.Hash{}) {
		cl = &knownDiffID{blobLayer: b, diffID: diffID}
	}
	l, _ := partial.CompressedToLayer(cl) // never fails
	return l
}

// blobLayer is the minimal compressed layer partial derives the rest from.
type blobLayer struct {
	s      *Store
	digest v1.Hash
	size   int64
	mt     types.MediaType
}

var _ partial.CompressedLayer = (*blobLayer)(nil)

func (b *blobLayer) Digest() (v1.Hash, error)            { return b.digest, nil }
func (b *blobLayer) MediaType() (types.MediaType, error) { return b.mt, nil }
func (b *blobLayer) Compressed() (io.ReadCloser, error)  { return b.s.Open(b.digest) }

func (b *blobLayer) Size() (int64, error) {
	if b.size > 0 {
		return b.size, nil
	}
	return b.s.Size(b.digest)
}

// knownDiffID spares a decompression pass when the config already says
// what the uncompressed digest is.
type knownDiffID struct {
	*blobLayer
	diffID v1.Hash
}

var _ partial.WithDiffID = (*knownDiffID)(nil)

func (k *knownDiffID) DiffID() (v1.Hash, error) { return k.diffID, nil }
