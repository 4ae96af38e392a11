package images

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/imageconfig"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/root"
)

// Import makes a one-layer image from a root filesystem tar and stores it
// under name. changes are Dockerfile-style config lines, as with
// `docker import --change`: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL.
func Import(ctx context.Context, root *root.Root, r io.Reader, name string, changes []string) (v1.Hash, error) {
	n, err := registry.Normalize(name)
	if err != nil {
		return v1.Hash{}, err
	}
	unlock, err := root.Lock(ctx, false)
	if err != nil {
		return v1.Hash{}, err
	}
	defer unlock()
	cf := &imageconfig.File{OS: "linux", Architecture: HostPlatform().Architecture, Created: v1.Time{Time: time.Now().UTC().Truncate(time.Second)}}
	for _, c := range changes {
		if err := applyChange(&cf.Config, c); err != nil {
			return v1.Hash{}, err
		}
	}
	comp, _ := archive.ParseCompression("gzip")
	env := &ops.Env{Content: root.Content, Compression: comp}
	layer, err := env.ImportLayer(ctx, r)
	if err != nil {
		return v1.Hash{}, err
	}
	cf.History = []v1.History{{Created: cf.Created, CreatedBy: "gorae import", Comment: "Imported from tar"}}
	img, err := FromLayers(root.Content, cf, []ops.Layer{layer}, false)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := root.Images.Export(ctx, img, []string{n}); err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}

func applyChange(c *imageconfig.Config, line string) error {
	instr, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	rest = strings.TrimSpace(rest)
	args := func() []string {
		var a []string
		if strings.HasPrefix(rest, "[") && json.Unmarshal([]byte(rest), &a) == nil {
			return a
		}
		return []string{"/bin/sh", "-c", rest}
	}
	switch strings.ToUpper(instr) {
	case "CMD":
		c.Cmd = args()
	case "ENTRYPOINT":
		c.Entrypoint = args()
	case "ENV":
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			k, v, _ = strings.Cut(rest, " ")
		}
		c.Env = append(c.Env, k+"="+strings.TrimSpace(v))
	case "WORKDIR":
		c.WorkingDir = rest
	case "USER":
		c.User = rest
	case "LABEL":
		k, v, _ := strings.Cut(rest, "=")
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[k] = strings.Trim(v, `"`)
	default:
		return fmt.Errorf("invalid --change %q: use CMD, ENTRYPOINT, ENV, WORKDIR, USER or LABEL", line)
	}
	return nil
}
