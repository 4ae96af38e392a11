package ops

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gorae/gorae/archive"
)

// Layer is one compressed layer blob in the content store.
type Layer struct {
	Digest    v1.Hash         `json:"digest"`
	DiffID    v1.Hash         `json:"diffID"`
	Size      int64           `json:"size"`
	MediaType types.MediaType `json:"mediaType"`
	// Epoch is the epoch (seconds) a layer gorae wrote clamped its times
	// to; nil for a layer written without one and for a base image's.
	// An image with another epoch restamps it (Env.Restamp).
	Epoch *int64 `json:"epoch,omitempty"`
}

// State is the result of every op.
//
// Filesystem ops (Scratch, Image, Copy, Mkdir, Run) give a chain of
// layers, bottom first; Added tells whether the op itself added the last
// one (a COPY always does; a WORKDIR whose directory exists does not).
// Directory sources (Context, HTTP) give Dir instead.
type State struct {
	Layers []Layer `json:"layers,omitempty"`
	Added  bool    `json:"added,omitempty"`
	// Created is when the op's own layer was first built (kept by the
	// cache so that a cached rebuild gives the same image).
	Created int64 `json:"created,omitempty"`

	Dir     archive.FS `json:"-"`
	Context bool       `json:"-"` // Dir is a build context: owners become 0:0
	HTTP    bool       `json:"-"` // Dir holds one downloaded file
	Git     bool       `json:"-"` // Dir is a git checkout
}

// OwnLayer returns the layer this op added, if any.
func (s *State) OwnLayer() (Layer, bool) {
	if s == nil || !s.Added || len(s.Layers) == 0 {
		return Layer{}, false
	}
	return s.Layers[len(s.Layers)-1], true
}

func (s *State) with(l Layer, created int64) *State {
	layers := make([]Layer, 0, len(s.Layers)+1)
	layers = append(layers, s.Layers...)
	return &State{Layers: append(layers, l), Added: true, Created: created}
}

func (s *State) unchanged() *State {
	return &State{Layers: s.Layers, Created: s.Created}
}
