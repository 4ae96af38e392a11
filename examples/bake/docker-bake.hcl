# A shared base target, two applications built FROM its tag, and a
# tools image that copies from it through a target: context.
# gorae bake builds base first and hands its result to the others before
# anything is pushed; REGISTRY=127.0.0.1:5000 gorae bake --push pushes all
# four only if all four built.
variable "REGISTRY" {
  default = "localhost:5000"
}
variable "VERSION" {
  default = "1.0"
}

group "default" {
  targets = ["app", "tools"]
}

target "_common" {
  args = { VERSION = VERSION, REGISTRY = REGISTRY }
  cache-to = ["type=registry,mode=max"] # each target's own ref: REPO:buildcache-TARGET
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
