package bakefile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	composeschema "github.com/compose-spec/compose-go/v2/schema"
	composetypes "github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/go-units"
)

// composeEnv is what Compose interpolates with: the environment, then
// .env in Dir (buildx reads the working directory's) and beside the first
// Compose file, whose values never override the environment's.
func composeEnv(files []File, o Options) (map[string]string, error) {
	env := map[string]string{}
	if o.Env != nil {
		for k, v := range o.Env {
			env[k] = v
		}
	} else {
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	dirs := []string{o.Dir}
	if len(files) > 0 && files[0].Name != "-" {
		dirs = append(dirs, filepath.Dir(files[0].Name))
	}
	seen := map[string]bool{}
	for _, d := range dirs {
		if d == "" {
			d = "."
		}
		p, _ := filepath.Abs(filepath.Join(d, ".env"))
		if seen[p] {
			continue
		}
		seen[p] = true
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			continue
		}
		dt, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		vals, err := dotenv.UnmarshalBytesWithLookup(dt, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for k, v := range vals {
			if _, set := env[k]; !set {
				env[k] = v
			}
		}
	}
	return env, nil
}

// loadCompose loads the files as one Compose project the way buildx does:
// only image, build, environment and env_file (and profiles) of each
// service matter, so a file that is invalid elsewhere still bakes.
// Profiles: buildx takes every service; gorae does too unless
// COMPOSE_PROFILES names the active ones.
func loadCompose(files []File, o Options) (*composetypes.Project, error) {
	env, err := composeEnv(files, o)
	if err != nil {
		return nil, err
	}
	var cfgs []composetypes.ConfigFile
	for _, f := range files {
		cfgs = append(cfgs, composetypes.ConfigFile{Filename: f.Name, Content: f.Data})
	}
	details := composetypes.ConfigDetails{ConfigFiles: cfgs, Environment: env}
	name := "bake"
	if v := env["COMPOSE_PROJECT_NAME"]; v != "" {
		name = v
	}
	raw, err := loader.LoadModelWithContext(context.Background(), details, func(opts *loader.Options) {
		opts.SetProjectName(name, false)
		opts.SkipNormalization = true
		opts.SkipValidation = true
		opts.SkipConsistencyCheck = true
	})
	if err != nil {
		return nil, err
	}
	filtered := map[string]any{}
	if services, ok := raw["services"].(map[string]any); ok {
		fs := map[string]any{}
		for n, svc := range services {
			m, _ := svc.(map[string]any)
			f := map[string]any{}
			for _, k := range []string{"image", "build", "environment", "env_file", "profiles"} {
				if v, ok := m[k]; ok {
					f[k] = v
				}
			}
			fs[n] = f
		}
		filtered["services"] = fs
	}
	if v, ok := raw["secrets"]; ok {
		filtered["secrets"] = v
	}
	if len(filtered) == 0 {
		return nil, errors.New("empty compose file")
	}
	if err := composeschema.Validate(filtered); err != nil {
		return nil, err
	}
	profiles := []string{"*"}
	if v := strings.TrimSpace(env["COMPOSE_PROFILES"]); v != "" {
		profiles = strings.Split(v, ",")
	}
	return loader.ModelToProject(filtered, loader.ToOptions(&details, []func(*loader.Options){func(opts *loader.Options) {
		opts.SetProjectName(name, false)
		opts.SkipNormalization = true
		opts.SkipConsistencyCheck = true
		opts.Profiles = profiles
	}}), details)
}

// parseCompose adds a target per service with a build section (named as
// the service, dots made underscores) and a default group of them all.
func parseCompose(c *config, files []File, o Options) error {
	proj, err := loadCompose(files, o)
	if err != nil {
		return fmt.Errorf("failed to parse compose file %s: %w", files[0].Name, err)
	}
	base := filepath.Dir(files[0].Name)
	if files[0].Name == "-" {
		base = "."
	}
	g := &Group{Name: "default", Targets: []string{}}
	for _, sn := range sortedKeys(proj.Services) {
		s := proj.Services[sn]
		if s.Build == nil {
			continue
		}
		name := strings.ReplaceAll(s.Name, ".", "_")
		if err := validateName(name); err != nil {
			return fmt.Errorf("compose service %q: %w", s.Name, err)
		}
		pt, err := composeTarget(name, s, proj, base)
		if err != nil {
			return fmt.Errorf("compose service %q: %w", s.Name, err)
		}
		g.Targets = append(g.Targets, name)
		c.addTarget(pt)
	}
	if len(proj.Services) > 0 {
		c.addGroup(g)
	}
	return nil
}

func composeTarget(name string, s composetypes.ServiceConfig, proj *composetypes.Project, base string) (*partial, error) {
	b := s.Build
	pt := newPartial(name)
	t := &pt.t
	str := func(key string, dst *string, v string) {
		if v != "" {
			*dst = v
			pt.set[key] = true
		}
	}
	list := func(key string, dst *[]string, v []string) {
		if len(v) > 0 {
			*dst = slices.Clone(v)
			pt.set[key] = true
		}
	}
	ctx := b.Context
	if ctx != "" {
		ctx = rebase(base, ctx)
	}
	str("context", &t.Context, ctx)
	str("dockerfile", &t.Dockerfile, b.Dockerfile)
	str("dockerfile-inline", &t.DockerfileInline, b.DockerfileInline)
	str("network", &t.Network, b.Network)
	str("target", &t.Target, b.Target)
	if b.ShmSize > 0 {
		str("shm-size", &t.ShmSize, units.BytesSize(float64(b.ShmSize)))
	}
	if len(b.AdditionalContexts) > 0 {
		t.Contexts = namedContexts(b.AdditionalContexts, base)
		pt.set["contexts"] = true
	}
	var ulimits []string
	for _, n := range sortedKeys(b.Ulimits) {
		u := b.Ulimits[n]
		soft, hard := u.Soft, u.Hard
		if u.Single != 0 {
			soft, hard = u.Single, u.Single
		}
		ul, err := units.ParseUlimit(fmt.Sprintf("%s=%d:%d", n, soft, hard))
		if err != nil {
			return nil, err
		}
		ulimits = append(ulimits, ul.String())
	}
	list("ulimits", &t.Ulimits, ulimits)
	if len(b.ExtraHosts) > 0 {
		pt.hosts = map[string]string{}
		for h, ips := range b.ExtraHosts {
			pt.hosts[h] = strings.Join(ips, ",")
		}
		pt.set["extra-hosts"] = true
	}
	var ssh []string
	for _, k := range b.SSH {
		if k.Path != "" {
			ssh = append(ssh, k.ID+"="+k.Path)
		} else {
			ssh = append(ssh, k.ID)
		}
	}
	slices.Sort(ssh)
	list("ssh", &t.SSH, ssh)
	var secrets []string
	for _, bs := range b.Secrets {
		ps := proj.Secrets[bs.Source]
		if ps.External {
			return nil, fmt.Errorf("unsupported external secret %s", ps.Name)
		}
		m := map[string]string{}
		if bs.Source != "" {
			m["id"] = bs.Source
		}
		if ps.File != "" {
			m["src"] = ps.File
		}
		if ps.Environment != "" {
			m["env"] = ps.Environment
		}
		secrets = append(secrets, joinCSV("id", m))
	}
	list("secret", &t.Secrets, secrets)
	if len(b.Labels) > 0 {
		t.Labels = map[string]string{}
		for k, v := range b.Labels {
			t.Labels[k] = v
		}
		pt.set["labels"] = true
	}
	list("cache-from", &t.CacheFrom, cacheEntries(b.CacheFrom))
	list("cache-to", &t.CacheTo, cacheEntries(b.CacheTo))
	var attest []string
	for _, a := range [][2]string{{"sbom", b.SBOM}, {"provenance", b.Provenance}} {
		if a[1] == "" {
			continue
		}
		if v, err := strconv.ParseBool(a[1]); err == nil {
			attest = append(attest, fmt.Sprintf("type=%s,disabled=%t", a[0], !v))
		} else {
			attest = append(attest, "type="+a[0]+","+a[1])
		}
	}
	list("attest", &t.Attest, attest)
	if b.NoCache {
		v := true
		t.NoCache = &v
		pt.set["no-cache"] = true
	}
	if b.Pull {
		v := true
		t.Pull = &v
		pt.set["pull"] = true
	}
	args := b.Args.Resolve(func(k string) (string, bool) {
		if v, ok := s.Environment[k]; ok && v != nil {
			return *v, true
		}
		v, ok := proj.Environment[k]
		return v, ok
	})
	for k, v := range args {
		if v == nil {
			continue
		}
		if t.Args == nil {
			t.Args = map[string]string{}
			pt.set["args"] = true
		}
		t.Args[k] = *v
	}
	list("platforms", &t.Platforms, b.Platforms)
	list("tags", &t.Tags, b.Tags)
	if err := xBake(pt, b.Extensions["x-bake"], base); err != nil {
		return nil, fmt.Errorf("x-bake: %w", err)
	}
	if len(t.Tags) == 0 && s.Image != "" {
		t.Tags = []string{s.Image}
		pt.set["tags"] = true
	}
	return pt, nil
}

// cacheEntries splits ref-only cache specs ("a,b") into one entry per
// ref, as buildx's ParseCacheEntry does.
func cacheEntries(in []string) []string {
	var out []string
	for _, s := range in {
		if s == "" {
			continue
		}
		if !strings.Contains(s, "=") {
			out = append(out, splitCSV(s)...)
			continue
		}
		out = append(out, s)
	}
	return out
}

// namedContexts maps additional_contexts, turning service:NAME (and
// target:NAME) into target:NAME of the sanitized service name.
func namedContexts(m map[string]string, base string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if ref, ok := strings.CutPrefix(v, "service:"); ok {
			v = "target:" + strings.ReplaceAll(ref, ".", "_")
		} else if ref, ok := strings.CutPrefix(v, "target:"); ok {
			v = "target:" + strings.ReplaceAll(ref, ".", "_")
		} else {
			v = rebase(base, v)
		}
		out[k] = v
	}
	return out
}

// rebase makes a relative local path relative to the Compose file's
// directory instead of the working directory; a file in the working
// directory leaves paths as written, as buildx prints them.
func rebase(base, p string) string {
	if base == "" || base == "." || p == "" || filepath.IsAbs(p) || isSpecialContext(p) {
		return p
	}
	return filepath.Join(base, p)
}

func isSpecialContext(p string) bool {
	for _, pre := range []string{"cwd://", "target:", "docker-image:", "oci-layout://", "git://", "git@", "http://", "https://", "github.com/"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}
