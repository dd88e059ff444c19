# The two set-up commands of README.md: `make demo` and `make test`.
JAVA_HOME := $(shell scripts/find-jdk.sh)
ifeq ($(JAVA_HOME),)
$(error no JDK >= 25 found; see the message above)
endif
export JAVA_HOME
export PATH := $(JAVA_HOME)/bin:$(PATH)
# Maven's own Guava calls sun.misc.Unsafe; keep JDK 25 from warning about it on every run.
export MAVEN_OPTS ?= --sun-misc-unsafe-memory-access=allow

# Overridable, e.g. MVN='mvn -B -ntp -Dmaven.repo.local=DIR' make demo.
MVN ?= mvn -B -ntp

# Which entry points and scenarios `make conformance` runs (comma-separated; empty: every scenario).
CONFORMANCE_ENTRIES ?= java,c,python,go,python-worker,go-worker,ts-worker,js,graalpy
CONFORMANCE_SCENARIOS ?=

.PHONY: build test conformance demo demo-tls clean

## build: compile every module and install it locally, without tests
build:
	$(MVN) -q install -DskipTests

## test: run every test of every module (Java, system-tests' node processes, the C ABI test under ASan, pytest, go vet + go test -race, the conformance matrix)
test:
	$(MVN) install

## conformance: every scenario of conformance/scenarios against every entry point (Java, C, Python, Go) on
## 3-node clusters of real processes; prints the matrix (also in conformance/target/conformance/matrix.txt)
conformance: build
	$(MVN) -pl conformance verify -Dconformance.entries=$(CONFORMANCE_ENTRIES) -Dconformance.scenarios=$(CONFORMANCE_SCENARIOS)

## demo: a local 3-node cluster of `./raftoral node` processes running the example workflows through the CLI
## (and the order workflow on Python, Go and TypeScript worker processes beside the nodes), then the order
## workflow in Python and in Go, each on a node embedded through the C ABI
demo: build
	$(MVN) -q -pl examples dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
	scripts/demo.sh
	@echo "== the order workflow in Python, on a node embedded through libraftoral.so"
	python3 examples/python/order_workflow.py
	@echo "== the order workflow in Go, on a node embedded through libraftoral.so"
	cd examples/go && go run .

## demo-tls: `make demo` secured (docs/SECURITY.md): certificates and tokens, three nodes with TLS on every port, mutual
## TLS between them and token authentication; the examples through the CLI with an operator's token, and the refusals
demo-tls: build
	$(MVN) -q -pl examples dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
	scripts/demo-tls.sh

clean:
	$(MVN) -q clean
