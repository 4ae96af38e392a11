// Package container runs a stored image as `gorae run` does: it resolves
// the image (the local store first, else pulled), holds it against prune,
// unpacks its layers, prepares a throwaway overlay snapshot over them,
// applies the image config with docker run's overrides (command,
// entrypoint, environment, user, working directory, volumes) and starts
// the command in the same sandbox RUN uses, with a terminal, forwarded
// signals and its exit code.
//
// container is level 5: it imports root, images, runner, snapshot,
// copier, imageconfig, ops, archive, registry, progress and binfmt (to
// check emulation before running another architecture), and must never import
// builder, gc, remotecache or cmd.
package container
