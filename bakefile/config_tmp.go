package bakefile

// Config is replaced by the bakefile branch's (merge: delete this file).
type Config struct {
	Targets   map[string]*Target
	Groups    map[string]*Group
	Requested []string
}
