package builder

import (
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/imageconfig"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/ops"
)

// assembly is what the image is made of once the graph is solved.
type assembly struct {
	config  *imageconfig.File
	history []frontend.HistoryStep
	final   *ops.State
	states  map[string]*ops.State // node digest → its state, for history steps
	docker  bool
	epoch   *time.Time
	// annotations go into the manifest (--annotation).
	annotations map[string]string
}

// assemble builds the image's config (rootfs and history as BuildKit
// writes them) and manifest, over layers already in the content store.
func assemble(c *content.Store, a assembly) (v1.Image, error) {
	cf := a.config.DeepCopy()
	created := cf.Created.Time
	for _, h := range cf.History {
		if h.Created.After(created) {
			created = h.Created.Time
		}
	}
	for _, step := range a.history {
		h := step.History
		if step.Node != nil {
			s := a.states[step.Node.Digest()]
			if s == nil || !s.Added {
				h.EmptyLayer = true
			} else if s.Created > 0 {
				created = time.Unix(s.Created, 0).UTC()
			}
		}
		h.Created = v1.Time{Time: created}
		cf.History = append(cf.History, h)
	}
	if a.epoch != nil {
		created = a.epoch.UTC()
		for i := len(cf.History) - len(a.history); i < len(cf.History); i++ {
			cf.History[i].Created = v1.Time{Time: created}
		}
	}
	cf.Created = v1.Time{Time: created}
	return images.FromLayersAnnotated(c, cf, a.final.Layers, a.docker, a.annotations)
}
