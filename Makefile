# The two set-up commands of README.md: `make demo` and `make test`.
JAVA_HOME := $(shell scripts/find-jdk.sh)
ifeq ($(JAVA_HOME),)
$(error no JDK >= 25 found; see the message above)
endif
export JAVA_HOME
export PATH := $(JAVA_HOME)/bin:$(PATH)
# Maven's own Guava calls sun.misc.Unsafe; keep JDK 25 from warning about it on every run.
export MAVEN_OPTS ?= --sun-misc-unsafe-memory-access=allow

MVN := mvn -B -ntp

.PHONY: build test demo clean

## build: compile every module and install it locally, without tests
build:
	$(MVN) -q install -DskipTests

## test: run every test of every module
test:
	$(MVN) install

## demo: a local 3-node cluster of `./raftoral node` processes running the example workflows through the CLI
demo: build
	$(MVN) -q -pl examples dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
	scripts/demo.sh

clean:
	$(MVN) -q clean
