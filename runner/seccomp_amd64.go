package runner

func hostPlatform() (platform, bool) { return x86Platform(), true }
