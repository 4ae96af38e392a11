package kubejob

// The subset of Kubernetes' batch/v1 Job that gorae's Jobs use, with the
// API's JSON names. kubectl validates the rest.

type job struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Metadata   meta    `json:"metadata"`
	Spec       jobSpec `json:"spec"`
}

type meta struct {
	Name        string            `json:"name,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type jobSpec struct {
	BackoffLimit            int         `json:"backoffLimit"`
	TTLSecondsAfterFinished int         `json:"ttlSecondsAfterFinished"`
	Template                podTemplate `json:"template"`
}

type podTemplate struct {
	Metadata meta    `json:"metadata"`
	Spec     podSpec `json:"spec"`
}

type podSpec struct {
	RestartPolicy      string      `json:"restartPolicy"`
	ServiceAccountName string      `json:"serviceAccountName,omitempty"`
	Affinity           *affinity   `json:"affinity,omitempty"`
	Containers         []container `json:"containers"`
	Volumes            []volume    `json:"volumes"`
}

type affinity struct {
	NodeAffinity nodeAffinity `json:"nodeAffinity"`
}

type nodeAffinity struct {
	Preferred []preferredTerm `json:"preferredDuringSchedulingIgnoredDuringExecution"`
}

type preferredTerm struct {
	Weight     int          `json:"weight"`
	Preference nodeSelector `json:"preference"`
}

type nodeSelector struct {
	MatchExpressions []selectorRequirement `json:"matchExpressions"`
}

type selectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values"`
}

type container struct {
	Name                     string           `json:"name"`
	Image                    string           `json:"image"`
	Command                  []string         `json:"command"`
	Args                     []string         `json:"args"`
	Env                      []envVar         `json:"env"`
	TerminationMessagePath   string           `json:"terminationMessagePath"`
	TerminationMessagePolicy string           `json:"terminationMessagePolicy"`
	SecurityContext          *securityContext `json:"securityContext"`
	VolumeMounts             []volumeMount    `json:"volumeMounts"`
}

type envVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type securityContext struct {
	RunAsUser       int64           `json:"runAsUser"`
	RunAsGroup      int64           `json:"runAsGroup"`
	Capabilities    capabilities    `json:"capabilities"`
	SeccompProfile  profile         `json:"seccompProfile"`
	AppArmorProfile *apparmorProfle `json:"appArmorProfile,omitempty"`
}

type capabilities struct {
	Drop []string `json:"drop"`
	Add  []string `json:"add"`
}

type profile struct {
	Type             string `json:"type"`
	LocalhostProfile string `json:"localhostProfile,omitempty"`
}

type apparmorProfle struct {
	Type string `json:"type"`
}

type volumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

type volume struct {
	Name     string        `json:"name"`
	EmptyDir *struct{}     `json:"emptyDir,omitempty"`
	Secret   *secretVolume `json:"secret,omitempty"`
}

type secretVolume struct {
	SecretName string      `json:"secretName"`
	Items      []keyToPath `json:"items"`
}

type keyToPath struct {
	Key  string `json:"key"`
	Path string `json:"path"`
}

// rootful is deploy/kubernetes/gorae-rootful-job.yaml's securityContext:
// root in the host's user namespace with Docker's default capabilities
// plus SYS_ADMIN and NET_ADMIN, gorae's seccomp profile installed on
// every node, AppArmor unconfined. See deploy/kubernetes/README.md.
func rootful() *securityContext {
	return &securityContext{
		Capabilities: capabilities{
			Drop: []string{"ALL"},
			Add: []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
				"NET_BIND_SERVICE", "NET_RAW", "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP",
				"SYS_ADMIN", "NET_ADMIN"},
		},
		SeccompProfile:  profile{Type: "Localhost", LocalhostProfile: "profiles/gorae.json"},
		AppArmorProfile: &apparmorProfle{Type: "Unconfined"},
	}
}
