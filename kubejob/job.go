package kubejob

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"
)

const (
	goraeRoot  = "/var/lib/gorae"
	dockerConf = "/docker"
	// failedTTL keeps a failed Job (and its pod's logs) an hour for
	// `kubectl describe`; succeeded Jobs are deleted at once.
	failedTTL = 3600
	// Weights of the preferred nodes: the target's home node, then its
	// second choice, whose cache is the next warmest when the home node
	// is full.
	homeWeight, nextWeight = 100, 50
)

// nameUnsafe are the characters a Kubernetes name (DNS-1123 label) and
// an image tag cannot both hold.
var nameUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// safeName makes s a DNS-1123 label part of at most max characters.
func safeName(s string, max int) string {
	s = strings.Trim(nameUnsafe.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > max {
		s = strings.TrimRight(s[:max], "-")
	}
	if s == "" {
		s = "target"
	}
	return s
}

// jobName is a fresh name for a Job of target: "gorae-TARGET-RANDOM",
// within the 63 characters the job-name label allows.
func jobName(target string) string {
	var r [4]byte
	rand.Read(r[:])
	return "gorae-" + safeName(target, 40) + "-" + hex.EncodeToString(r[:])
}

// makeJob is the Job that runs args in gorae's image, preferring nodes
// in order (the first is the target's home).
func (b *Builder) makeJob(name, target string, args, nodes []string) job {
	labels := map[string]string{
		"app.kubernetes.io/name":      "gorae",
		"app.kubernetes.io/component": "bake",
		"gorae.dev/target":            safeName(target, 63),
	}
	c := container{
		Name:  "gorae",
		Image: b.o.Image,
		// gorae on the image's PATH (its entrypoint too), named so
		// that whatever runs the pod needs no knowledge of the image.
		Command:                  []string{"gorae"},
		Args:                     args,
		Env:                      []envVar{{Name: "GORAE_ROOT", Value: goraeRoot}},
		TerminationMessagePath:   terminationLog,
		TerminationMessagePolicy: "File",
		SecurityContext:          rootful(),
		VolumeMounts:             []volumeMount{{Name: "root", MountPath: goraeRoot}},
	}
	vols := []volume{{Name: "root", EmptyDir: &struct{}{}}}
	if b.o.RegistrySecret != "-" {
		c.Env = append(c.Env, envVar{Name: "DOCKER_CONFIG", Value: dockerConf})
		c.VolumeMounts = append(c.VolumeMounts, volumeMount{Name: "docker-config", MountPath: dockerConf, ReadOnly: true})
		vols = append(vols, volume{Name: "docker-config", Secret: &secretVolume{
			SecretName: b.o.RegistrySecret,
			Items:      []keyToPath{{Key: ".dockerconfigjson", Path: "config.json"}},
		}})
	}
	pod := podSpec{
		RestartPolicy:      "Never",
		ServiceAccountName: b.o.ServiceAccount,
		Containers:         []container{c},
		Volumes:            vols,
	}
	if len(nodes) > 0 {
		var terms []preferredTerm
		for i, n := range nodes[:min(2, len(nodes))] {
			w := homeWeight
			if i > 0 {
				w = nextWeight
			}
			terms = append(terms, preferredTerm{Weight: w, Preference: nodeSelector{
				MatchExpressions: []selectorRequirement{{Key: hostnameLabel, Operator: "In", Values: []string{n}}},
			}})
		}
		pod.Affinity = &affinity{NodeAffinity: nodeAffinity{Preferred: terms}}
	}
	return job{
		APIVersion: "batch/v1",
		Kind:       "Job",
		Metadata:   meta{Name: name, Labels: labels, Annotations: map[string]string{"gorae.dev/target": target}},
		Spec: jobSpec{
			BackoffLimit:            0,
			TTLSecondsAfterFinished: failedTTL,
			Template:                podTemplate{Metadata: meta{Labels: labels}, Spec: pod},
		},
	}
}
