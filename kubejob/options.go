package kubejob

import (
	"errors"
	"fmt"
	"time"

	"github.com/gorae/gorae/registry"
)

// Options configure a Builder.
type Options struct {
	// Namespace the Jobs run in; "" = kubectl's current namespace.
	Namespace string
	// Image is gorae's own image (deploy/image), e.g.
	// registry.example.com/gorae:1.2; its entrypoint is gorae.
	Image string
	// Kubectl is the kubectl binary; "" = "kubectl" on PATH.
	Kubectl string
	// KubectlArgs come before every kubectl subcommand: --context,
	// --kubeconfig.
	KubectlArgs []string
	// Repo is the repository for build contexts, caches and staged
	// images, e.g. registry.example.com/team/app; "" = each target's
	// first tag's repository.
	Repo string
	// Registry says how this process reaches the registry (uploads of
	// contexts, Publish). Its Insecure hosts are passed to the Jobs as
	// --insecure-registry.
	Registry registry.Options
	// RegistrySecret is the kubernetes.io/dockerconfigjson Secret the
	// pods read registry credentials from; "" = "gorae-registry", "-" =
	// none (an anonymous registry).
	RegistrySecret string
	// ServiceAccount of the pods; "" = the namespace's default.
	ServiceAccount string
	// Poll is how often a Job's status is read; 0 = 2 s.
	Poll time.Duration
	// KeepJobs leaves succeeded Jobs in the cluster; by default they are
	// deleted once their result is read. Failed Jobs stay for `kubectl
	// describe` until their TTL (an hour) runs out.
	KeepJobs bool
	// Log receives each line of a Job's log once it finished; nil =
	// discard.
	Log func(target, line string)
}

const (
	defaultSecret = "gorae-registry"
	defaultPoll   = 2 * time.Second
)

func (o Options) check() (Options, error) {
	if o.Image == "" {
		return o, errors.New("kubejob: no gorae image: pass the image the Jobs run (e.g. --kubernetes-image REGISTRY/gorae:TAG, built by `make image`)")
	}
	if _, err := registry.Normalize(o.Image); err != nil {
		return o, fmt.Errorf("kubejob: gorae image: %w", err)
	}
	if o.Repo != "" {
		if _, err := o.Registry.Parse(o.Repo + ":x"); err != nil {
			return o, fmt.Errorf("kubejob: repository %q for contexts and caches: %w", o.Repo, err)
		}
	}
	if o.Kubectl == "" {
		o.Kubectl = "kubectl"
	}
	if o.RegistrySecret == "" {
		o.RegistrySecret = defaultSecret
	}
	if o.Poll <= 0 {
		o.Poll = defaultPoll
	}
	return o, nil
}
