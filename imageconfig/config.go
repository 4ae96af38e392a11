package imageconfig

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// File is an image config file: v1.ConfigFile with Config of this
// package's type. The fields, their order and their JSON tags are ggcr's
// (TestMirrorsGGCR checks them).
type File struct {
	Architecture  string       `json:"architecture"`
	Author        string       `json:"author,omitempty"`
	Container     string       `json:"container,omitempty"`
	Created       v1.Time      `json:"created,omitempty"`
	DockerVersion string       `json:"docker_version,omitempty"`
	History       []v1.History `json:"history,omitempty"`
	OS            string       `json:"os"`
	RootFS        v1.RootFS    `json:"rootfs"`
	Config        Config       `json:"config"`
	OSVersion     string       `json:"os.version,omitempty"`
	Variant       string       `json:"variant,omitempty"`
	OSFeatures    []string     `json:"os.features,omitempty"`
}

// Config is the container configuration part of a config file:
// v1.Config with Healthcheck of this package's type.
type Config struct {
	AttachStderr    bool                `json:"AttachStderr,omitempty"`
	AttachStdin     bool                `json:"AttachStdin,omitempty"`
	AttachStdout    bool                `json:"AttachStdout,omitempty"`
	Cmd             []string            `json:"Cmd,omitempty"`
	Healthcheck     *HealthConfig       `json:"Healthcheck,omitempty"`
	Domainname      string              `json:"Domainname,omitempty"`
	Entrypoint      []string            `json:"Entrypoint,omitempty"`
	Env             []string            `json:"Env,omitempty"`
	Hostname        string              `json:"Hostname,omitempty"`
	Image           string              `json:"Image,omitempty"`
	Labels          map[string]string   `json:"Labels,omitempty"`
	OnBuild         []string            `json:"OnBuild,omitempty"`
	OpenStdin       bool                `json:"OpenStdin,omitempty"`
	StdinOnce       bool                `json:"StdinOnce,omitempty"`
	Tty             bool                `json:"Tty,omitempty"`
	User            string              `json:"User,omitempty"`
	Volumes         map[string]struct{} `json:"Volumes,omitempty"`
	WorkingDir      string              `json:"WorkingDir,omitempty"`
	ExposedPorts    map[string]struct{} `json:"ExposedPorts,omitempty"`
	ArgsEscaped     bool                `json:"ArgsEscaped,omitempty"`
	NetworkDisabled bool                `json:"NetworkDisabled,omitempty"`
	MacAddress      string              `json:"MacAddress,omitempty"`
	StopSignal      string              `json:"StopSignal,omitempty"`
	Shell           []string            `json:"Shell,omitempty"`
}

// HealthConfig is Docker's container.HealthConfig, which BuildKit writes:
// v1.HealthConfig plus StartInterval, in Docker's field order (BuildKit's
// history text for HEALTHCHECK prints it with %+v). Durations are
// nanoseconds in JSON; zero means "inherit".
type HealthConfig struct {
	Test          []string      `json:",omitempty"`
	Interval      time.Duration `json:",omitempty"`
	Timeout       time.Duration `json:",omitempty"`
	StartPeriod   time.Duration `json:",omitempty"`
	StartInterval time.Duration `json:",omitempty"`
	Retries       int           `json:",omitempty"`
}

// Parse reads a config file's JSON.
func Parse(raw []byte) (*File, error) {
	var f File
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("parse image config: %w", err)
	}
	return &f, nil
}

// FromV1 converts a ggcr config (which has nothing File lacks).
func FromV1(cf *v1.ConfigFile) (*File, error) {
	raw, err := json.Marshal(cf)
	if err != nil {
		return nil, fmt.Errorf("encode image config: %w", err)
	}
	return Parse(raw)
}

// V1 converts f for ggcr APIs; the fields ggcr has no place for are
// left out.
func (f *File) V1() (*v1.ConfigFile, error) {
	raw, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode image config: %w", err)
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(raw, &cf); err != nil {
		return nil, fmt.Errorf("parse image config: %w", err)
	}
	return &cf, nil
}

// Platform is the platform the config describes, or nil when it names
// none (as v1.ConfigFile.Platform).
func (f *File) Platform() *v1.Platform {
	if f.OS == "" && f.Architecture == "" && f.OSVersion == "" && f.Variant == "" && len(f.OSFeatures) == 0 {
		return nil
	}
	return &v1.Platform{OS: f.OS, Architecture: f.Architecture, OSVersion: f.OSVersion, Variant: f.Variant, OSFeatures: slices.Clone(f.OSFeatures)}
}

// DeepCopy returns a copy of f that shares no slice, map or pointer
// with it.
func (f *File) DeepCopy() *File {
	out := *f
	out.History = slices.Clone(f.History)
	out.OSFeatures = slices.Clone(f.OSFeatures)
	out.RootFS.DiffIDs = slices.Clone(f.RootFS.DiffIDs)
	c := &out.Config
	c.Cmd = slices.Clone(c.Cmd)
	c.Entrypoint = slices.Clone(c.Entrypoint)
	c.Env = slices.Clone(c.Env)
	c.OnBuild = slices.Clone(c.OnBuild)
	c.Shell = slices.Clone(c.Shell)
	c.Labels = maps.Clone(c.Labels)
	c.Volumes = maps.Clone(c.Volumes)
	c.ExposedPorts = maps.Clone(c.ExposedPorts)
	if c.Healthcheck != nil {
		h := *c.Healthcheck
		h.Test = slices.Clone(h.Test)
		c.Healthcheck = &h
	}
	return &out
}
