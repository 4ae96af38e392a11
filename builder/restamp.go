package builder

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/solver"
)

// restamped is final with every layer a build under another epoch wrote
// restamped to epoch (ops.Env.Restamp): cache records are shared by all
// epochs, so that a new commit's epoch costs a compression of the new
// layers, not a run of every step. Each restamped layer is a record of
// its own (layer digest, epoch, compression), so a warm rebuild restamps
// nothing.
func restamped(ctx context.Context, r *root.Root, env *ops.Env, final *ops.State, epoch *time.Time, ns string) (*ops.State, error) {
	if epoch == nil {
		return final, nil
	}
	out := *final
	out.Layers = make([]ops.Layer, len(final.Layers))
	for i, l := range final.Layers {
		if l.Epoch == nil || *l.Epoch == epoch.Unix() {
			out.Layers[i] = l
			continue
		}
		k := solver.Key(sha256.Sum256([]byte("gorae/restamp/v1 " + ns + " " + l.Digest.String() + " " + epoch.UTC().Format(time.RFC3339))))
		if s, ok, err := r.Cache.Load(ctx, k); err == nil && ok && len(s.Layers) == 1 && r.Content.Has(s.Layers[0].Digest) {
			out.Layers[i] = s.Layers[0]
			continue
		}
		nl, err := env.Restamp(ctx, l, *epoch)
		if err != nil {
			return nil, err
		}
		if err := r.Cache.Save(ctx, k, &ops.State{Layers: []ops.Layer{nl}, Added: true}); err != nil {
			return nil, err
		}
		out.Layers[i] = nl
	}
	return &out, nil
}
