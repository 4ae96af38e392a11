# A shared base target, two applications built FROM its tag, and a
# tools image that copies from it through a target: context.
# gorae bake builds base first and hands its result to the others before
# anything is pushed. REGISTRY=127.0.0.1:5000 CACHE=true gorae bake --push
# pushes app-small, app-full and tools (base is built for them only) if
# all of them built, and exports each target's cache.
variable "REGISTRY" {
  default = "localhost:5000"
}
variable "VERSION" {
  default = "1.0"
}

group "default" {
  targets = ["app", "tools"]
}

variable "CACHE" {
  default = false # CACHE=true: export each target's cache to its registry
}

target "_common" {
  args = { VERSION = VERSION, REGISTRY = REGISTRY }
  # Each target's own ref, REPO:buildcache-TARGET: the targets never
  # overwrite each other's cache.
  cache-to = CACHE ? ["type=registry,mode=max"] : []
}

target "base" {
  inherits = ["_common"]
  context = "base"
  tags = ["${REGISTRY}/example/base:${VERSION}"]
}

target "app" {
  inherits = ["_common"]
  context = "app"
  matrix = { flavor = ["small", "full"] }
  name = "app-${flavor}"
  args = { FLAVOR = flavor }
  tags = ["${REGISTRY}/example/app:${VERSION}-${flavor}"]
}

target "tools" {
  inherits = ["_common"]
  context = "tools"
  contexts = { base = "target:base" }
  tags = ["${REGISTRY}/example/tools:${VERSION}"]
}
