package runner

func hostPlatform() (platform, bool) { return armPlatform(), true }
