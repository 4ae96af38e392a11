#!/bin/sh
# The shared, slow part of every service (a dependency install, say).
echo "base built once, at $(cat /proc/sys/kernel/random/uuid)"
